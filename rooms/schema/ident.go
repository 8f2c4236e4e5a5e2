package schema

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"hotrow/rooms"
)

// MaxIdentBytes is PostgreSQL's identifier length (NAMEDATALEN - 1).
const MaxIdentBytes = 63

// fieldErr makes the *rooms.FieldError of an invalid request or op field.
var fieldErr = rooms.FieldErr

// CheckIdent validates a table or column name (see the package doc).
func CheckIdent(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("must not be empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("must be valid UTF-8")
	case len(name) > MaxIdentBytes:
		return fmt.Errorf("must be at most %d bytes (PostgreSQL's identifier limit); %q is %d bytes", MaxIdentBytes, name, len(name))
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("must not contain control characters (found %U)", r)
		}
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return fmt.Errorf("must not begin or end with white space")
	}
	return nil
}

// QuoteIdent double-quotes an identifier, doubling any double quote in it.
// Names are validated by CheckIdent first, so they hold no NUL.
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// QuoteLiteral quotes s as an SQL string literal the way PostgreSQL's
// quote_literal does: single quotes doubled, and when s holds a backslash,
// the E” form with backslashes doubled, so the literal means the same
// whatever standard_conforming_strings is.
func QuoteLiteral(s string) string {
	q := strings.ReplaceAll(s, `'`, `''`)
	if strings.Contains(q, `\`) {
		return `E'` + strings.ReplaceAll(q, `\`, `\\`) + `'`
	}
	return `'` + q + `'`
}
