package dsqldouble

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token of SQL.
type tokKind int

const (
	tWord   tokKind = iota + 1 // an unquoted keyword or identifier
	tIdent                     // a "quoted identifier"
	tString                    // a string literal: '...', E'...', $tag$...$tag$
	tNumber                    // a numeric literal
	tParam                     // $1, $2, ...
	tPunct                     // an operator or punctuation character
)

// token is one lexical token. up is the upper-cased text of a word (the
// unquoted value of a string or quoted identifier otherwise); pos and end
// are byte offsets into the statement; depth is the parenthesis depth the
// token is at (the parenthesis itself counts as outside).
type token struct {
	kind     tokKind
	text     string
	up       string
	pos, end int
	depth    int
}

func (t token) is(word string) bool { return t.kind == tWord && t.up == word }

// lex splits one or more SQL statements into tokens, dropping comments and
// whitespace. It never fails: text it cannot make sense of becomes
// punctuation, and an unterminated quote runs to the end (PostgreSQL then
// reports the syntax error itself).
func lex(sql string) []token {
	var out []token
	depth := 0
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			// Block comments nest in PostgreSQL.
			n := 0
			for i < len(sql) {
				if strings.HasPrefix(sql[i:], "/*") {
					n++
					i += 2
				} else if strings.HasPrefix(sql[i:], "*/") {
					n--
					i += 2
					if n == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'':
			end, val := scanQuoted(sql, i, '\'', false)
			out = append(out, token{kind: tString, text: sql[i:end], up: val, pos: i, end: end, depth: depth})
			i = end
		case (c == 'e' || c == 'E') && i+1 < len(sql) && sql[i+1] == '\'':
			end, val := scanQuoted(sql, i+1, '\'', true)
			out = append(out, token{kind: tString, text: sql[i:end], up: val, pos: i, end: end, depth: depth})
			i = end
		case c == '"':
			end, val := scanQuoted(sql, i, '"', false)
			out = append(out, token{kind: tIdent, text: sql[i:end], up: val, pos: i, end: end, depth: depth})
			i = end
		case c == '$' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9':
			j := i + 1
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			out = append(out, token{kind: tParam, text: sql[i:j], up: sql[i:j], pos: i, end: j, depth: depth})
			i = j
		case c == '$':
			if end, val, ok := scanDollar(sql, i); ok {
				out = append(out, token{kind: tString, text: sql[i:end], up: val, pos: i, end: end, depth: depth})
				i = end
				continue
			}
			out = append(out, token{kind: tPunct, text: "$", up: "$", pos: i, end: i + 1, depth: depth})
			i++
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9':
			j := i
			for j < len(sql) && (sql[j] >= '0' && sql[j] <= '9' || sql[j] == '.' || sql[j] == 'e' || sql[j] == 'E' ||
				(sql[j] == '+' || sql[j] == '-') && j > i && (sql[j-1] == 'e' || sql[j-1] == 'E')) {
				j++
			}
			out = append(out, token{kind: tNumber, text: sql[i:j], up: sql[i:j], pos: i, end: j, depth: depth})
			i = j
		case isIdentStart(sql, i):
			j := i
			for j < len(sql) && isIdentPart(sql, j) {
				_, n := utf8.DecodeRuneInString(sql[j:])
				j += n
			}
			out = append(out, token{kind: tWord, text: sql[i:j], up: strings.ToUpper(sql[i:j]), pos: i, end: j, depth: depth})
			i = j
		default:
			if c == ')' && depth > 0 {
				depth--
			}
			out = append(out, token{kind: tPunct, text: sql[i : i+1], up: sql[i : i+1], pos: i, end: i + 1, depth: depth})
			if c == '(' {
				depth++
			}
			i++
		}
	}
	return out
}

func isIdentStart(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r == '_' || unicode.IsLetter(r)
}

func isIdentPart(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// scanQuoted scans a quoted string or identifier starting at the quote at
// i; a doubled quote is one quote, and in an E-string (backslash escapes) a
// backslash escapes the next character. It returns the end offset and the
// unquoted value.
func scanQuoted(s string, i int, q byte, backslash bool) (int, string) {
	var b strings.Builder
	j := i + 1
	for j < len(s) {
		switch {
		case backslash && s[j] == '\\' && j+1 < len(s):
			b.WriteByte(s[j+1])
			j += 2
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			b.WriteByte(q)
			j += 2
		case s[j] == q:
			return j + 1, b.String()
		default:
			b.WriteByte(s[j])
			j++
		}
	}
	return len(s), b.String()
}

// scanDollar scans a dollar-quoted string $tag$...$tag$ starting at i.
func scanDollar(s string, i int) (end int, val string, ok bool) {
	j := i + 1
	for j < len(s) && s[j] != '$' {
		if !isIdentPart(s, j) {
			return 0, "", false
		}
		j++
	}
	if j >= len(s) {
		return 0, "", false
	}
	tag := s[i : j+1]
	rest := s[j+1:]
	k := strings.Index(rest, tag)
	if k < 0 {
		return len(s), rest, true
	}
	return j + 1 + k + len(tag), rest[:k], true
}

// splitStatements splits a simple query into its statements on semicolons
// outside quotes, comments and parentheses. Empty statements are dropped.
func splitStatements(sql string) []string {
	toks := lex(sql)
	var out []string
	start := 0
	for _, t := range toks {
		if t.kind == tPunct && t.text == ";" && t.depth == 0 {
			if s := strings.TrimSpace(sql[start:t.pos]); s != "" && len(lex(s)) > 0 {
				out = append(out, s)
			}
			start = t.end
		}
	}
	if s := strings.TrimSpace(sql[start:]); s != "" && len(lex(s)) > 0 {
		out = append(out, s)
	}
	return out
}
