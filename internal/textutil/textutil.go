// Package textutil shortens text for messages and identifiers without
// cutting a UTF-8 character in half.
package textutil

import "unicode/utf8"

// CutBytes returns s cut to at most max bytes on a character boundary.
func CutBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Clip shortens s for an error message or a log line: at most max bytes
// of it, followed by "…" when it was cut.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return CutBytes(s, max) + "…"
}
