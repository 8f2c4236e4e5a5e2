// Package static holds the web pages, embedded in the binary.
package static

import "embed"

// FS holds the pages.
//
//go:embed *.html
var FS embed.FS
