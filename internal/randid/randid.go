// Package randid makes random identifiers.
package randid

import "crypto/rand"

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// New returns n random characters of [a-z0-9].
func New(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
