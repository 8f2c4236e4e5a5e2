package schema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
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
