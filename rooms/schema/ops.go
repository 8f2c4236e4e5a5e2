package schema

import (
	"bytes"
	"encoding/json"
	"hotrow/internal/textutil"
	"math"
	"sort"
	"strings"
)

// Op kinds (PROTOCOL.md, "Schema documents"). Each is also the kind of the
// event its commit appends and the op label of the txn metrics.
const (
	OpCreateTable  = "create_table"
	OpRenameTable  = "rename_table"
	OpDropTable    = "drop_table"
	OpAddColumn    = "add_column"
	OpAlterColumn  = "alter_column"
	OpDropColumn   = "drop_column"
	OpAddRelation  = "add_relation"
	OpDropRelation = "drop_relation"
	OpMoveTable    = "move_table"
)

// opFields lists, per kind, the fields it takes: true = required.
var opFields = map[string]map[string]bool{
	OpCreateTable:  {"name": true, "x": false, "y": false},
	OpRenameTable:  {"table": true, "name": true},
	OpDropTable:    {"table": true},
	OpAddColumn:    {"table": true, "name": true, "type": true, "nullable": false, "default": false, "primary_key": false, "unique": false},
	OpAlterColumn:  {"table": true, "column": true, "name": false, "type": false, "nullable": false, "default": false, "primary_key": false, "unique": false},
	OpDropColumn:   {"table": true, "column": true},
	OpAddRelation:  {"from_table": true, "from_column": true, "to_table": true, "to_column": true, "on_delete": false},
	OpDropRelation: {"relation": true},
	OpMoveTable:    {"table": true, "x": true, "y": true},
}

// OpKinds lists the op kinds, sorted.
func OpKinds() []string {
	out := make([]string, 0, len(opFields))
	for k := range opFields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Op is one validated edit op. Optional fields are nil when absent.
type Op struct {
	Kind       string   `json:"kind"`
	Table      string   `json:"table,omitempty"`
	Column     string   `json:"column,omitempty"`
	Relation   string   `json:"relation,omitempty"`
	Name       *string  `json:"name,omitempty"`
	Type       *string  `json:"type,omitempty"` // canonical
	Nullable   *bool    `json:"nullable,omitempty"`
	Default    *Default `json:"default,omitempty"`
	PrimaryKey *bool    `json:"primary_key,omitempty"`
	Unique     *bool    `json:"unique,omitempty"`
	FromTable  string   `json:"from_table,omitempty"`
	FromColumn string   `json:"from_column,omitempty"`
	ToTable    string   `json:"to_table,omitempty"`
	ToColumn   string   `json:"to_column,omitempty"`
	OnDelete   *string  `json:"on_delete,omitempty"`
	X          *float64 `json:"x,omitempty"`
	Y          *float64 `json:"y,omitempty"`
	ExpectRev  *int64   `json:"expect_rev,omitempty"`
}

// Default is a default given in an op: Value nil means null (no default).
type Default struct{ Value *string }

// MarshalJSON writes the value or null.
func (d Default) MarshalJSON() ([]byte, error) { return json.Marshal(d.Value) }

// MaxOpBytes bounds an op's encoded size.
const MaxOpBytes = 16 << 10

// ParseOp decodes and validates an op's shape: its kind, that it has every
// field its kind needs and no other, each field's JSON type, identifiers,
// the type, on_delete and coordinates. Whether the ids exist, names are
// free, and a default suits the column's type are the rules' business
// (Plan), since they depend on the document. Errors are *FieldError.
func ParseOp(raw json.RawMessage) (Op, error) {
	var op Op
	if len(bytes.TrimSpace(raw)) == 0 {
		return op, fieldErr("op", "is required: an object with a kind")
	}
	if len(raw) > MaxOpBytes {
		return op, fieldErr("op", "is larger than %d bytes", MaxOpBytes)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return op, fieldErr("op", "must be a JSON object")
	}
	if err := str(fields, "kind", &op.Kind); err != nil {
		return op, err
	}
	allowed, ok := opFields[op.Kind]
	if !ok {
		if op.Kind == "" {
			return op, fieldErr("kind", "is required; one of %s", strings.Join(OpKinds(), ", "))
		}
		return op, fieldErr("kind", "unknown op %q; one of %s", trunc(op.Kind), strings.Join(OpKinds(), ", "))
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := allowed[k]; !ok && k != "kind" && k != "expect_rev" {
			return op, fieldErr(trunc(k), "is not a field of %s", op.Kind)
		}
	}
	// null counts as absent, except for default (null removes it).
	present := func(k string) bool {
		v, ok := fields[k]
		return ok && (k == "default" || !bytes.Equal(bytes.TrimSpace(v), []byte("null")))
	}
	reqKeys := make([]string, 0, len(allowed))
	for k := range allowed {
		reqKeys = append(reqKeys, k)
	}
	sort.Strings(reqKeys)
	for _, k := range reqKeys {
		if allowed[k] && !present(k) {
			return op, fieldErr(k, "is required for %s", op.Kind)
		}
	}
	for _, k := range []string{"table", "column", "relation", "from_table", "from_column", "to_table", "to_column"} {
		if !present(k) {
			continue
		}
		var dst *string
		switch k {
		case "table":
			dst = &op.Table
		case "column":
			dst = &op.Column
		case "relation":
			dst = &op.Relation
		case "from_table":
			dst = &op.FromTable
		case "from_column":
			dst = &op.FromColumn
		case "to_table":
			dst = &op.ToTable
		case "to_column":
			dst = &op.ToColumn
		}
		if err := str(fields, k, dst); err != nil {
			return op, err
		}
		if *dst == "" || len(*dst) > 64 {
			return op, fieldErr(k, "must be an id of 1 to 64 characters")
		}
	}
	if present("name") {
		var s string
		if err := str(fields, "name", &s); err != nil {
			return op, err
		}
		if err := CheckIdent(s); err != nil {
			return op, fieldErr("name", "%s", err.Error())
		}
		op.Name = &s
	}
	if present("type") {
		var s string
		if err := str(fields, "type", &s); err != nil {
			return op, err
		}
		t, err := ParseType(s)
		if err != nil {
			return op, fieldErr("type", "%s", err.Error())
		}
		c := t.String()
		op.Type = &c
	}
	for _, k := range []string{"nullable", "primary_key", "unique"} {
		if !present(k) {
			continue
		}
		var b bool
		if err := json.Unmarshal(fields[k], &b); err != nil {
			return op, fieldErr(k, "must be true or false")
		}
		switch k {
		case "nullable":
			op.Nullable = &b
		case "primary_key":
			op.PrimaryKey = &b
		case "unique":
			op.Unique = &b
		}
	}
	if present("default") {
		d, err := parseDefault(fields["default"])
		if err != nil {
			return op, err
		}
		op.Default = &d
	}
	if present("on_delete") {
		var s string
		if err := str(fields, "on_delete", &s); err != nil {
			return op, err
		}
		s = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "_")
		if _, ok := OnDeleteActions[s]; !ok {
			return op, fieldErr("on_delete", "must be one of no_action, restrict, cascade, set_null, set_default")
		}
		op.OnDelete = &s
	}
	for _, k := range []string{"x", "y"} {
		if !present(k) {
			continue
		}
		var f float64
		if err := json.Unmarshal(fields[k], &f); err != nil {
			return op, fieldErr(k, "must be a number")
		}
		if math.IsNaN(f) || math.Abs(f) > MaxCoord {
			return op, fieldErr(k, "must be between -%g and %g", float64(MaxCoord), float64(MaxCoord))
		}
		if k == "x" {
			op.X = &f
		} else {
			op.Y = &f
		}
	}
	if present("expect_rev") {
		var n int64
		if err := json.Unmarshal(fields["expect_rev"], &n); err != nil || n < 1 {
			return op, fieldErr("expect_rev", "must be a positive integer")
		}
		if op.Kind == OpCreateTable {
			return op, fieldErr("expect_rev", "create_table has no target entity to compare a rev with")
		}
		op.ExpectRev = &n
	}
	if op.Kind == OpAlterColumn && op.Name == nil && op.Type == nil && op.Nullable == nil &&
		op.Default == nil && op.PrimaryKey == nil && op.Unique == nil {
		return op, fieldErr("op", "alter_column needs at least one of name, type, nullable, default, primary_key, unique")
	}
	return op, nil
}

// parseDefault reads a default: a string, a number, a boolean or null.
func parseDefault(raw json.RawMessage) (Default, error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return Default{}, nil
	}
	var s string
	switch {
	case len(raw) > 0 && raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return Default{}, fieldErr("default", "must be a string, a number, a boolean or null")
		}
	case bytes.Equal(raw, []byte("true")), bytes.Equal(raw, []byte("false")):
		s = string(raw)
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return Default{}, fieldErr("default", "must be a string, a number, a boolean or null")
		}
		s = n.String()
	}
	if len(s) > MaxDefaultBytes {
		return Default{}, fieldErr("default", "must be at most %d bytes", MaxDefaultBytes)
	}
	return Default{Value: &s}, nil
}

func str(fields map[string]json.RawMessage, k string, dst *string) error {
	v, ok := fields[k]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fieldErr(k, "must be a string")
	}
	return nil
}

func trunc(s string) string { return textutil.Clip(s, 64) }

// target is the id of the entity expect_rev is compared with.
func (op *Op) target() string {
	switch {
	case op.Column != "":
		return op.Column
	case op.Relation != "":
		return op.Relation
	case op.Table != "":
		return op.Table
	}
	return op.FromTable
}
