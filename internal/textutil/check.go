package textutil

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// HasControl reports whether s holds a control character: C0 (NUL to
// U+001F), DEL or C1 (U+0080 to U+009F). Stored strings (titles, names,
// ids) refuse them: PostgreSQL refuses NUL in text outright, and the rest
// have no business in a name.
func HasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// Chars counts the characters (runes) of s, as the wire contract counts
// lengths; invalid UTF-8 counts one per bad byte.
func Chars(s string) int { return utf8.RuneCountInString(s) }
