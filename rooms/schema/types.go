package schema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Type is a column type from the documented set (see the package doc).
type Type struct {
	Base string // canonical name: "integer", "numeric", "varchar", ...
	N    int    // varchar(n), char(n)
	P, S int    // numeric(p,s)
}

// Limits of parameterised types.
const (
	MaxNumericPrecision = 38       // Aurora DSQL's NUMERIC precision limit
	MaxCharLength       = 10485760 // PostgreSQL's varchar(n)/char(n) limit
	MaxDefaultBytes     = 256      // a default's text, in bytes
)

// Base type names.
const (
	tSmallint  = "smallint"
	tInteger   = "integer"
	tBigint    = "bigint"
	tReal      = "real"
	tDouble    = "double precision"
	tNumeric   = "numeric"
	tBoolean   = "boolean"
	tText      = "text"
	tVarchar   = "varchar"
	tChar      = "char"
	tBytea     = "bytea"
	tUUID      = "uuid"
	tDate      = "date"
	tTime      = "time"
	tTimestamp = "timestamp"
	tTstz      = "timestamptz"
)

// typeAliases maps every accepted spelling of a base type to its canonical
// name.
var typeAliases = map[string]string{
	"smallint": tSmallint, "int2": tSmallint,
	"integer": tInteger, "int": tInteger, "int4": tInteger,
	"bigint": tBigint, "int8": tBigint,
	"real": tReal, "float4": tReal,
	"double precision": tDouble, "float8": tDouble,
	"numeric": tNumeric, "decimal": tNumeric,
	"boolean": tBoolean, "bool": tBoolean,
	"text":    tText,
	"varchar": tVarchar, "character varying": tVarchar,
	"char": tChar, "character": tChar,
	"bytea": tBytea,
	"uuid":  tUUID,
	"date":  tDate,
	"time":  tTime, "time without time zone": tTime,
	"timestamp": tTimestamp, "timestamp without time zone": tTimestamp,
	"timestamptz": tTstz, "timestamp with time zone": tTstz,
}

// SupportedTypes lists the canonical type forms, for error messages and docs.
const SupportedTypes = "smallint, integer, bigint, real, double precision, numeric(p,s), boolean, text, varchar(n), char(n), bytea, uuid, date, time, timestamp, timestamptz"

var typePattern = regexp.MustCompile(`^([a-z][a-z0-9 ]*?)\s*(?:\(\s*([0-9]{1,9})\s*(?:,\s*([0-9]{1,9})\s*)?\))?$`)

// ParseType parses a type as written by a client.
func ParseType(s string) (Type, error) {
	if len(s) > 64 {
		return Type{}, fmt.Errorf("unknown type (too long); supported: %s", SupportedTypes)
	}
	norm := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	m := typePattern.FindStringSubmatch(norm)
	if m == nil {
		return Type{}, fmt.Errorf("unknown type %q; supported: %s", s, SupportedTypes)
	}
	base, ok := typeAliases[m[1]]
	if !ok {
		return Type{}, fmt.Errorf("unknown type %q; supported: %s", s, SupportedTypes)
	}
	hasP, hasS := m[2] != "", m[3] != ""
	a, _ := strconv.Atoi(m[2])
	b, _ := strconv.Atoi(m[3])
	t := Type{Base: base}
	switch base {
	case tNumeric:
		if !hasP {
			return t, fmt.Errorf("numeric needs an explicit precision: numeric(p,s) with 1 <= p <= %d", MaxNumericPrecision)
		}
		if a < 1 || a > MaxNumericPrecision {
			return t, fmt.Errorf("numeric precision must be 1 to %d, not %d", MaxNumericPrecision, a)
		}
		if b > a {
			return t, fmt.Errorf("numeric scale must be 0 to the precision %d, not %d", a, b)
		}
		t.P, t.S = a, b
	case tVarchar, tChar:
		if !hasP || hasS {
			return t, fmt.Errorf("%s needs one length: %s(n) with 1 <= n <= %d", base, base, MaxCharLength)
		}
		if a < 1 || a > MaxCharLength {
			return t, fmt.Errorf("%s length must be 1 to %d, not %d", base, MaxCharLength, a)
		}
		t.N = a
	default:
		if hasP {
			return t, fmt.Errorf("type %s takes no parameters", base)
		}
	}
	return t, nil
}

// String is the canonical form, which is also valid PostgreSQL and DSQL.
func (t Type) String() string {
	switch t.Base {
	case tNumeric:
		return fmt.Sprintf("numeric(%d,%d)", t.P, t.S)
	case tVarchar, tChar:
		return fmt.Sprintf("%s(%d)", t.Base, t.N)
	}
	return t.Base
}

// Family groups types whose values PostgreSQL compares with each other, so
// a relation may join columns of one family.
func (t Type) Family() string {
	switch t.Base {
	case tSmallint, tInteger, tBigint:
		return "integer"
	case tReal, tDouble:
		return "float"
	case tText, tVarchar, tChar:
		return "text"
	}
	return t.Base
}

// FormatType is how PostgreSQL's format_type() shows the type.
func (t Type) FormatType() string {
	switch t.Base {
	case tVarchar:
		return fmt.Sprintf("character varying(%d)", t.N)
	case tChar:
		return fmt.Sprintf("character(%d)", t.N)
	case tTime:
		return "time without time zone"
	case tTimestamp:
		return "timestamp without time zone"
	case tTstz:
		return "timestamp with time zone"
	}
	return t.String()
}

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
// canonical form.
func (t Type) CheckDefault(v string) (string, error) {
	if len(v) > MaxDefaultBytes {
		return "", fmt.Errorf("must be at most %d bytes", MaxDefaultBytes)
	}
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return "", fmt.Errorf("must be valid UTF-8 without NUL")
	}
	if t.Base != tText && t.Base != tVarchar && t.Base != tChar {
		if f, ok := funcDefaults[strings.ToLower(strings.TrimSpace(v))]; ok {
			for _, b := range f.types {
				if b == t.Base {
					return f.canon, nil
				}
			}
			return "", fmt.Errorf("%s is not a default for type %s", strings.TrimSpace(v), t)
		}
	}
	bad := func(what string) (string, error) {
		return "", fmt.Errorf("%q is not %s for type %s", v, what, t)
	}
	switch t.Base {
	case tSmallint, tInteger, tBigint:
		bits := map[string]int{tSmallint: 16, tInteger: 32, tBigint: 64}[t.Base]
		if !intPattern.MatchString(v) {
			return bad("an integer")
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, bits)
		if err != nil {
			return "", fmt.Errorf("%s is out of range for type %s", v, t)
		}
		return strconv.FormatInt(n, 10), nil
	case tReal, tDouble:
		bits := 64
		if t.Base == tReal {
			bits = 32
		}
		if !floatPattern.MatchString(v) {
			return bad("a decimal number")
		}
		f, err := strconv.ParseFloat(v, bits)
		if err != nil {
			return "", fmt.Errorf("%s is out of range for type %s", v, t)
		}
		return strconv.FormatFloat(f, 'g', -1, bits), nil
	case tNumeric:
		m := numericPattern.FindStringSubmatch(v)
		if m == nil || m[2]+m[3] == "" {
			return bad("a decimal number")
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
	case tBoolean:
		switch strings.ToLower(v) {
		case "true":
			return "true", nil
		case "false":
			return "false", nil
		}
		return bad("true or false")
	case tText:
		return v, nil
	case tVarchar, tChar:
		if n := utf8.RuneCountInString(v); n > t.N {
			return "", fmt.Errorf("%q is %d characters, longer than type %s allows", v, n, t)
		}
		return v, nil
	case tBytea:
		lv := strings.ToLower(v)
		if !byteaPattern.MatchString(lv) {
			return bad(`hex bytes (\x followed by pairs of hex digits)`)
		}
		return lv, nil
	case tUUID:
		lv := strings.ToLower(v)
		if !uuidPattern.MatchString(lv) {
			return bad("a UUID (8-4-4-4-12 hex digits)")
		}
		return lv, nil
	case tDate:
		d, err := time.Parse("2006-01-02", v)
		if err != nil {
			return bad("a date (YYYY-MM-DD)")
		}
		return d.Format("2006-01-02"), nil
	case tTime:
		for _, l := range []string{"15:04:05.999999999", "15:04"} {
			if tm, err := time.Parse(l, v); err == nil && tm.Nanosecond()%1000 == 0 {
				return tm.Format("15:04:05.999999"), nil
			}
		}
		return bad("a time (HH:MM[:SS[.ffffff]])")
	case tTimestamp:
		for _, l := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04"} {
			if tm, err := time.Parse(l, v); err == nil && tm.Nanosecond()%1000 == 0 {
				return tm.Format("2006-01-02 15:04:05.999999"), nil
			}
		}
		return bad("a timestamp (YYYY-MM-DD HH:MM[:SS[.ffffff]])")
	case tTstz:
		for _, l := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
			"2006-01-02 15:04:05.999999999Z07", "2006-01-02T15:04:05.999999999Z07",
			"2006-01-02 15:04Z07:00", "2006-01-02T15:04Z07:00"} {
			if tm, err := time.Parse(l, v); err == nil && tm.Nanosecond()%1000 == 0 {
				return tm.UTC().Format("2006-01-02 15:04:05.999999") + "+00", nil
			}
		}
		return bad("a timestamp with an offset (YYYY-MM-DD HH:MM[:SS[.ffffff]]+hh:mm or Z)")
	}
	return "", fmt.Errorf("type %s takes no default", t)
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
