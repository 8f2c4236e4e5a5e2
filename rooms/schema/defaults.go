package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Function defaults: canonical spelling, and the types that take them.
var funcDefaults = map[string]struct {
	canon string
	types []string
}{
	"now()":             {"now()", []string{tDate, tTime, tTimestamp, tTstz}},
	"current_timestamp": {"now()", []string{tDate, tTime, tTimestamp, tTstz}},
	"current_date":      {"current_date", []string{tDate}},
	"gen_random_uuid()": {"gen_random_uuid()", []string{tUUID}},
}

// IsFuncDefault reports whether a canonical default is a function call
// rather than a literal.
func IsFuncDefault(v string) bool {
	switch v {
	case "now()", "current_date", "gen_random_uuid()":
		return true
	}
	return false
}

var (
	intPattern     = regexp.MustCompile(`^[+-]?[0-9]+$`)
	floatPattern   = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	numericPattern = regexp.MustCompile(`^([+-]?)([0-9]*)(?:\.([0-9]*))?$`)
	uuidPattern    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	byteaPattern   = regexp.MustCompile(`^\\x([0-9a-f]{2})*$`)
)

// CheckDefault validates a default against the type and returns its
// canonical form: a function default the type takes (funcDefaults), else a
// literal checked by the type's entry in defaultCheckers.
func (t Type) CheckDefault(v string) (string, error) {
	if len(v) > MaxDefaultBytes {
		return "", fmt.Errorf("must be at most %d bytes", MaxDefaultBytes)
	}
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return "", fmt.Errorf("must be valid UTF-8 without NUL")
	}
	if t.Base != tText && t.Base != tVarchar && t.Base != tChar {
		if f, ok := funcDefaults[strings.ToLower(strings.TrimSpace(v))]; ok {
			if slices.Contains(f.types, t.Base) {
				return f.canon, nil
			}
			return "", fmt.Errorf("%s is not a default for type %s", strings.TrimSpace(v), t)
		}
	}
	check, ok := defaultCheckers[t.Base]
	if !ok {
		return "", fmt.Errorf("type %s takes no default", t)
	}
	return check(t, v)
}

// defaultCheckers checks a literal default for each base type and returns
// its canonical form. Every base type of typeAliases has one
// (TestDefaultCheckersCoverTypes).
var defaultCheckers = map[string]func(t Type, v string) (string, error){
	tSmallint:  intDefault,
	tInteger:   intDefault,
	tBigint:    intDefault,
	tReal:      floatDefault,
	tDouble:    floatDefault,
	tNumeric:   numericDefault,
	tBoolean:   boolDefault,
	tText:      func(_ Type, v string) (string, error) { return v, nil },
	tVarchar:   charDefault,
	tChar:      charDefault,
	tBytea:     byteaDefault,
	tUUID:      uuidDefault,
	tDate:      dateDefault,
	tTime:      timeDefault,
	tTimestamp: timestampDefault,
	tTstz:      timestamptzDefault,
}

// notA is the error of a default that is not what the type needs.
func notA(t Type, v, what string) (string, error) {
	return "", fmt.Errorf("%q is not %s for type %s", v, what, t)
}

func intDefault(t Type, v string) (string, error) {
	bits := map[string]int{tSmallint: 16, tInteger: 32, tBigint: 64}[t.Base]
	if !intPattern.MatchString(v) {
		return notA(t, v, "an integer")
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, bits)
	if err != nil {
		return "", fmt.Errorf("%s is out of range for type %s", v, t)
	}
	return strconv.FormatInt(n, 10), nil
}

func floatDefault(t Type, v string) (string, error) {
	bits := 64
	if t.Base == tReal {
		bits = 32
	}
	if !floatPattern.MatchString(v) {
		return notA(t, v, "a decimal number")
	}
	f, err := strconv.ParseFloat(v, bits)
	if err != nil {
		return "", fmt.Errorf("%s is out of range for type %s", v, t)
	}
	return strconv.FormatFloat(f, 'g', -1, bits), nil
}

// numericDefault checks the digits against numeric(p,s) and writes the
// number without leading zeros, and without the sign of a zero.
func numericDefault(t Type, v string) (string, error) {
	m := numericPattern.FindStringSubmatch(v)
	if m == nil || m[2]+m[3] == "" {
		return notA(t, v, "a decimal number")
	}
	ip := strings.TrimLeft(m[2], "0")
	fp := m[3]
	if len(ip) > t.P-t.S {
		return "", fmt.Errorf("%s is out of range for type %s: at most %d digits before the decimal point", v, t, t.P-t.S)
	}
	if len(fp) > t.S {
		return "", fmt.Errorf("%s has more than %d decimal places for type %s", v, t.S, t)
	}
	if ip == "" {
		ip = "0"
	}
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if m[1] == "-" && strings.Trim(ip+fp, "0") != "" {
		out = "-" + out
	}
	return out, nil
}

func boolDefault(t Type, v string) (string, error) {
	switch strings.ToLower(v) {
	case "true":
		return "true", nil
	case "false":
		return "false", nil
	}
	return notA(t, v, "true or false")
}

func charDefault(t Type, v string) (string, error) {
	if n := utf8.RuneCountInString(v); n > t.N {
		return "", fmt.Errorf("%q is %d characters, longer than type %s allows", v, n, t)
	}
	return v, nil
}

func byteaDefault(t Type, v string) (string, error) {
	lv := strings.ToLower(v)
	if !byteaPattern.MatchString(lv) {
		return notA(t, v, `hex bytes (\x followed by pairs of hex digits)`)
	}
	return lv, nil
}

func uuidDefault(t Type, v string) (string, error) {
	lv := strings.ToLower(v)
	if !uuidPattern.MatchString(lv) {
		return notA(t, v, "a UUID (8-4-4-4-12 hex digits)")
	}
	return lv, nil
}

func dateDefault(t Type, v string) (string, error) {
	d, err := time.Parse("2006-01-02", v)
	if err != nil {
		return notA(t, v, "a date (YYYY-MM-DD)")
	}
	return d.Format("2006-01-02"), nil
}

func timeDefault(t Type, v string) (string, error) {
	if tm, ok := parseMicros(v, "15:04:05.999999999", "15:04"); ok {
		return tm.Format("15:04:05.999999"), nil
	}
	return notA(t, v, "a time (HH:MM[:SS[.ffffff]])")
}

func timestampDefault(t Type, v string) (string, error) {
	if tm, ok := parseMicros(v, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04"); ok {
		return tm.Format("2006-01-02 15:04:05.999999"), nil
	}
	return notA(t, v, "a timestamp (YYYY-MM-DD HH:MM[:SS[.ffffff]])")
}

// timestamptzDefault stores the instant in UTC.
func timestamptzDefault(t Type, v string) (string, error) {
	if tm, ok := parseMicros(v, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z07", "2006-01-02T15:04:05.999999999Z07",
		"2006-01-02 15:04Z07:00", "2006-01-02T15:04Z07:00"); ok {
		return tm.UTC().Format("2006-01-02 15:04:05.999999") + "+00", nil
	}
	return notA(t, v, "a timestamp with an offset (YYYY-MM-DD HH:MM[:SS[.ffffff]]+hh:mm or Z)")
}

// parseMicros parses v with the first of layouts that fits and gives whole
// microseconds (PostgreSQL's precision).
func parseMicros(v string, layouts ...string) (time.Time, bool) {
	for _, l := range layouts {
		if tm, err := time.Parse(l, v); err == nil && tm.Nanosecond()%1000 == 0 {
			return tm, true
		}
	}
	return time.Time{}, false
}

// DefaultSQL renders a canonical default (from CheckDefault) as SQL: numbers
// and booleans bare (they are digits and letters only), function defaults as
// calls, everything else as a quoted string literal.
func (t Type) DefaultSQL(v string) string {
	if IsFuncDefault(v) && t.Base != tText && t.Base != tVarchar && t.Base != tChar {
		return v
	}
	switch t.Base {
	case tSmallint, tInteger, tBigint, tNumeric, tBoolean:
		return v
	}
	// Floats are quoted too ("1e+10" is then coerced to the column type).
	return QuoteLiteral(v)
}
