package schema

import (
	"bytes"
	"encoding/json"
	"hotrow/internal/textutil"
	"math"
	"sort"
	"strings"
)

// Op kinds (docs/protocol.md, "Schema documents"). Each is also the kind of the
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
// (Plan), since they depend on the document. Errors are *rooms.FieldError.
func ParseOp(raw json.RawMessage) (Op, error) {
	var op Op
	fields, err := opObject(raw)
	if err != nil {
		return op, err
	}
	if err := str("kind", fields["kind"], &op.Kind); err != nil {
		return op, err
	}
	if err := checkFieldNames(op.Kind, fields); err != nil {
		return op, err
	}
	for _, f := range opFieldReaders {
		if present(fields, f.name) {
			if err := f.read(&op, f.name, fields[f.name]); err != nil {
				return op, err
			}
		}
	}
	if op.Kind == OpAlterColumn && op.Name == nil && op.Type == nil && op.Nullable == nil &&
		op.Default == nil && op.PrimaryKey == nil && op.Unique == nil {
		return op, fieldErr("op", "alter_column needs at least one of name, type, nullable, default, primary_key, unique")
	}
	return op, nil
}

// opObject decodes an op's JSON object into its fields, undecoded.
func opObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fieldErr("op", "is required: an object with a kind")
	}
	if len(raw) > MaxOpBytes {
		return nil, fieldErr("op", "is larger than %d bytes", MaxOpBytes)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, fieldErr("op", "must be a JSON object")
	}
	return fields, nil
}

// checkFieldNames checks that kind is known and that fields has every
// field the kind requires and no field it does not take (in name order, so
// the same op always reports the same field).
func checkFieldNames(kind string, fields map[string]json.RawMessage) error {
	allowed, ok := opFields[kind]
	if !ok {
		if kind == "" {
			return fieldErr("kind", "is required; one of %s", strings.Join(OpKinds(), ", "))
		}
		return fieldErr("kind", "unknown op %q; one of %s", textutil.Clip(kind, 64), strings.Join(OpKinds(), ", "))
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := allowed[k]; !ok && k != "kind" && k != "expect_rev" {
			return fieldErr(textutil.Clip(k, 64), "is not a field of %s", kind)
		}
	}
	reqKeys := make([]string, 0, len(allowed))
	for k := range allowed {
		reqKeys = append(reqKeys, k)
	}
	sort.Strings(reqKeys)
	for _, k := range reqKeys {
		if allowed[k] && !present(fields, k) {
			return fieldErr(k, "is required for %s", kind)
		}
	}
	return nil
}

// present reports whether the op has field k: null counts as absent, except
// for default (null removes it).
func present(fields map[string]json.RawMessage, k string) bool {
	v, ok := fields[k]
	return ok && (k == "default" || !bytes.Equal(bytes.TrimSpace(v), []byte("null")))
}

// opFieldReaders reads each field an op may carry into Op, in this order:
// when several fields are bad, the first here is the one reported. A field
// is read only when present. Every field of opFields has a reader
// (TestOpFieldReadersCoverOpFields).
var opFieldReaders = []struct {
	name string
	read func(op *Op, k string, raw json.RawMessage) error
}{
	{"table", readID(func(op *Op) *string { return &op.Table })},
	{"column", readID(func(op *Op) *string { return &op.Column })},
	{"relation", readID(func(op *Op) *string { return &op.Relation })},
	{"from_table", readID(func(op *Op) *string { return &op.FromTable })},
	{"from_column", readID(func(op *Op) *string { return &op.FromColumn })},
	{"to_table", readID(func(op *Op) *string { return &op.ToTable })},
	{"to_column", readID(func(op *Op) *string { return &op.ToColumn })},
	{"name", readName},
	{"type", readType},
	{"nullable", readBool(func(op *Op) **bool { return &op.Nullable })},
	{"primary_key", readBool(func(op *Op) **bool { return &op.PrimaryKey })},
	{"unique", readBool(func(op *Op) **bool { return &op.Unique })},
	{"default", readDefault},
	{"on_delete", readOnDelete},
	{"x", readCoord(func(op *Op) **float64 { return &op.X })},
	{"y", readCoord(func(op *Op) **float64 { return &op.Y })},
	{"expect_rev", readExpectRev},
}

// readID reads an entity id into the field dst points to.
func readID(dst func(*Op) *string) func(*Op, string, json.RawMessage) error {
	return func(op *Op, k string, raw json.RawMessage) error {
		p := dst(op)
		if err := str(k, raw, p); err != nil {
			return err
		}
		if *p == "" || textutil.Chars(*p) > 64 || textutil.HasControl(*p) {
			return fieldErr(k, "must be an id of 1 to 64 characters, without control characters")
		}
		return nil
	}
}

func readName(op *Op, k string, raw json.RawMessage) error {
	var s string
	if err := str(k, raw, &s); err != nil {
		return err
	}
	if err := CheckIdent(s); err != nil {
		return fieldErr(k, "%s", err.Error())
	}
	op.Name = &s
	return nil
}

// readType reads a type and keeps its canonical form.
func readType(op *Op, k string, raw json.RawMessage) error {
	var s string
	if err := str(k, raw, &s); err != nil {
		return err
	}
	t, err := ParseType(s)
	if err != nil {
		return fieldErr(k, "%s", err.Error())
	}
	c := t.String()
	op.Type = &c
	return nil
}

func readBool(dst func(*Op) **bool) func(*Op, string, json.RawMessage) error {
	return func(op *Op, k string, raw json.RawMessage) error {
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return fieldErr(k, "must be true or false")
		}
		*dst(op) = &b
		return nil
	}
}

func readDefault(op *Op, _ string, raw json.RawMessage) error {
	d, err := parseDefault(raw)
	if err != nil {
		return err
	}
	op.Default = &d
	return nil
}

// readOnDelete reads on_delete, accepting SQL's spelling ("SET NULL").
func readOnDelete(op *Op, k string, raw json.RawMessage) error {
	var s string
	if err := str(k, raw, &s); err != nil {
		return err
	}
	s = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "_")
	if _, ok := OnDeleteActions[s]; !ok {
		return fieldErr(k, "must be one of no_action, restrict, cascade, set_null, set_default")
	}
	op.OnDelete = &s
	return nil
}

func readCoord(dst func(*Op) **float64) func(*Op, string, json.RawMessage) error {
	return func(op *Op, k string, raw json.RawMessage) error {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return fieldErr(k, "must be a number")
		}
		if math.IsNaN(f) || math.Abs(f) > MaxCoord {
			return fieldErr(k, "must be between -%g and %g", float64(MaxCoord), float64(MaxCoord))
		}
		*dst(op) = &f
		return nil
	}
}

func readExpectRev(op *Op, k string, raw json.RawMessage) error {
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || n < 1 {
		return fieldErr(k, "must be a positive integer")
	}
	if op.Kind == OpCreateTable {
		return fieldErr(k, "create_table has no target entity to compare a rev with")
	}
	op.ExpectRev = &n
	return nil
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

// str decodes field k's value, if any, as a string into dst.
func str(k string, raw json.RawMessage, dst *string) error {
	if raw == nil {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fieldErr(k, "must be a string")
	}
	return nil
}

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
