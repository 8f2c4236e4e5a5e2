package schema

import (
	"encoding/json"
	"errors"
	"hotrow/rooms"
	"strings"
	"testing"
)

func TestParseOp(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		name, in string
		field    string // "" = valid
		msg      string // part of the message
	}{
		{"create", `{"kind":"create_table","name":"users"}`, "", ""},
		{"create with position", `{"kind":"create_table","name":"users","x":1.5,"y":-2}`, "", ""},
		{"empty", ``, "op", "required"},
		{"not an object", `[1]`, "op", "object"},
		{"no kind", `{"name":"x"}`, "kind", "required"},
		{"unknown kind", `{"kind":"explode"}`, "kind", "unknown op"},
		{"kind not a string", `{"kind":1}`, "kind", "string"},
		{"missing name", `{"kind":"create_table"}`, "name", "required"},
		{"null name", `{"kind":"create_table","name":null}`, "name", "required"},
		{"unknown field", `{"kind":"create_table","name":"x","colour":"red"}`, "colour", "not a field"},
		{"field of another kind", `{"kind":"drop_table","table":"t","name":"x"}`, "name", "not a field of drop_table"},
		{"empty name", `{"kind":"create_table","name":""}`, "name", "empty"},
		{"64-byte name", `{"kind":"create_table","name":"` + long + `"}`, "name", "63 bytes"},
		{"63-byte name", `{"kind":"create_table","name":"` + long[:63] + `"}`, "", ""},
		{"NUL", `{"kind":"create_table","name":"a\u0000b"}`, "name", "control"},
		{"newline", `{"kind":"create_table","name":"a\nb"}`, "name", "control"},
		{"leading space", `{"kind":"create_table","name":" a"}`, "name", "white space"},
		{"hostile but fine", `{"kind":"create_table","name":"x\"; DROP TABLE y; --\\ select 表"}`, "", ""},
		{"name not a string", `{"kind":"create_table","name":5}`, "name", "string"},
		{"expect_rev on create", `{"kind":"create_table","name":"x","expect_rev":1}`, "expect_rev", "no target"},
		{"expect_rev zero", `{"kind":"drop_table","table":"t","expect_rev":0}`, "expect_rev", "positive"},
		{"expect_rev string", `{"kind":"drop_table","table":"t","expect_rev":"1"}`, "expect_rev", "positive"},
		{"rename", `{"kind":"rename_table","table":"t","name":"n","expect_rev":3}`, "", ""},
		{"rename no table", `{"kind":"rename_table","name":"n"}`, "table", "required"},
		{"table empty", `{"kind":"drop_table","table":""}`, "table", "id"},
		{"add column", `{"kind":"add_column","table":"t","name":"c","type":"VarChar( 20 )","nullable":false,"default":"x","unique":true}`, "", ""},
		{"add column no type", `{"kind":"add_column","table":"t","name":"c"}`, "type", "required"},
		{"bad type", `{"kind":"add_column","table":"t","name":"c","type":"jsonb"}`, "type", "unknown type"},
		{"serial", `{"kind":"add_column","table":"t","name":"c","type":"serial"}`, "type", "unknown type"},
		{"varchar without n", `{"kind":"add_column","table":"t","name":"c","type":"varchar"}`, "type", "length"},
		{"numeric without p", `{"kind":"add_column","table":"t","name":"c","type":"numeric"}`, "type", "precision"},
		{"numeric p too big", `{"kind":"add_column","table":"t","name":"c","type":"numeric(39,2)"}`, "type", "precision"},
		{"numeric s > p", `{"kind":"add_column","table":"t","name":"c","type":"numeric(4,5)"}`, "type", "scale"},
		{"integer(3)", `{"kind":"add_column","table":"t","name":"c","type":"integer(3)"}`, "type", "no parameters"},
		{"nullable not bool", `{"kind":"add_column","table":"t","name":"c","type":"text","nullable":"yes"}`, "nullable", "true or false"},
		{"default object", `{"kind":"add_column","table":"t","name":"c","type":"text","default":{}}`, "default", "string"},
		{"default number", `{"kind":"add_column","table":"t","name":"c","type":"integer","default":42}`, "", ""},
		{"alter nothing", `{"kind":"alter_column","table":"t","column":"c"}`, "op", "at least one"},
		{"alter default null", `{"kind":"alter_column","table":"t","column":"c","default":null}`, "", ""},
		{"alter no column", `{"kind":"alter_column","table":"t","name":"x"}`, "column", "required"},
		{"drop column", `{"kind":"drop_column","table":"t","column":"c"}`, "", ""},
		{"relation", `{"kind":"add_relation","from_table":"a","from_column":"b","to_table":"c","to_column":"d","on_delete":"SET NULL"}`, "", ""},
		{"relation bad on_delete", `{"kind":"add_relation","from_table":"a","from_column":"b","to_table":"c","to_column":"d","on_delete":"explode"}`, "on_delete", "one of"},
		{"relation missing", `{"kind":"add_relation","from_table":"a","from_column":"b","to_table":"c"}`, "to_column", "required"},
		{"drop relation", `{"kind":"drop_relation","relation":"r"}`, "", ""},
		{"move", `{"kind":"move_table","table":"t","x":3,"y":4}`, "", ""},
		{"move missing y", `{"kind":"move_table","table":"t","x":3}`, "y", "required"},
		{"move far", `{"kind":"move_table","table":"t","x":3e9,"y":4}`, "x", "between"},
		{"move x string", `{"kind":"move_table","table":"t","x":"3","y":4}`, "x", "number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOp(json.RawMessage(tc.in))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("ParseOp(%s) = %v", tc.in, err)
				}
				return
			}
			var fe *rooms.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseOp(%s) = %v, want a FieldError on %s", tc.in, err, tc.field)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Error(), tc.msg) {
				t.Fatalf("ParseOp(%s) = %q, want field %s and %q", tc.in, fe.Error(), tc.field, tc.msg)
			}
		})
	}
}

func TestParseOpCanonical(t *testing.T) {
	op, err := ParseOp(json.RawMessage(`{"kind":"add_column","table":"t","name":"c","type":"DECIMAL(10, 2)","default":12.5,"unique":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if *op.Type != "numeric(10,2)" || *op.Default.Value != "12.5" {
		t.Fatalf("op = %+v", op)
	}
	b, _ := json.Marshal(op)
	if string(b) != `{"kind":"add_column","table":"t","name":"c","type":"numeric(10,2)","default":"12.5"}` {
		t.Fatalf("encoded %s", b)
	}
	op, _ = ParseOp(json.RawMessage(`{"kind":"alter_column","table":"t","column":"c","default":null}`))
	if op.Default == nil || op.Default.Value != nil {
		t.Fatalf("default null = %+v", op.Default)
	}
	b, _ = json.Marshal(op)
	if !strings.Contains(string(b), `"default":null`) {
		t.Fatalf("encoded %s", b)
	}
}

func TestTypesAndDefaults(t *testing.T) {
	tests := []struct {
		typ, def, want string // want "" = rejected
	}{
		{"smallint", "32767", "32767"},
		{"smallint", "32768", ""},
		{"int", "+007", "7"},
		{"integer", "-2147483648", "-2147483648"},
		{"integer", "2147483648", ""},
		{"integer", "1.5", ""},
		{"integer", "1; DROP TABLE x", ""},
		{"bigint", "9223372036854775807", "9223372036854775807"},
		{"real", "1.5e3", "1500"},
		{"real", "1e39", ""},
		{"double precision", "-.5", "-0.5"},
		{"float8", "NaN", ""},
		{"numeric(5,2)", "123.45", "123.45"},
		{"numeric(5,2)", "1234.5", ""},
		{"numeric(5,2)", "1.234", ""},
		{"numeric(5,2)", "-0007.1", "-7.1"},
		{"numeric(5,2)", "-0.00", "0.00"},
		{"numeric(5,2)", ".", ""},
		{"numeric(3)", "999", "999"},
		{"boolean", "TRUE", "true"},
		{"bool", "yes", ""},
		{"text", "it's a \\ test; --", "it's a \\ test; --"},
		{"varchar(3)", "abc", "abc"},
		{"varchar(3)", "表表表", "表表表"},
		{"varchar(3)", "abcd", ""},
		{"char(2)", "abc", ""},
		{"bytea", `\xDEADbeef`, `\xdeadbeef`},
		{"bytea", `\xabc`, ""},
		{"bytea", `hello`, ""},
		{"uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"uuid", "gen_random_uuid()", "gen_random_uuid()"},
		{"uuid", "not-a-uuid", ""},
		{"date", "2024-02-29", "2024-02-29"},
		{"date", "2023-02-29", ""},
		{"date", "CURRENT_DATE", "current_date"},
		{"date", "now()", "now()"},
		{"time", "13:45", "13:45:00"},
		{"time", "25:00", ""},
		{"timestamp", "2024-01-02T03:04:05.123456", "2024-01-02 03:04:05.123456"},
		{"timestamp", "2024-01-02 03:04:05+02:00", ""},
		{"timestamptz", "2024-01-02 03:04:05+02:00", "2024-01-02 01:04:05+00"},
		{"timestamptz", "2024-01-02T03:04:05Z", "2024-01-02 03:04:05+00"},
		{"timestamptz", "2024-01-02 03:04:05", ""},
		{"timestamp with time zone", "current_timestamp", "now()"},
		{"integer", "now()", ""},
		{"text", "now()", "now()"},
		{"text", "a\x00b", ""},
		{"text", strings.Repeat("x", 257), ""},
	}
	for _, tc := range tests {
		typ, err := ParseType(tc.typ)
		if err != nil {
			t.Fatalf("ParseType(%q): %v", tc.typ, err)
		}
		got, err := typ.CheckDefault(tc.def)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s default %q = %q, want rejected", tc.typ, tc.def, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s default %q = %q, %v; want %q", tc.typ, tc.def, got, err, tc.want)
		}
	}
	// A text default that looks like a function stays a literal.
	text, _ := ParseType("text")
	if got := text.DefaultSQL("now()"); got != "'now()'" {
		t.Errorf("text now() renders as %s", got)
	}
	if got := text.DefaultSQL(`a'b\c`); got != `E'a''b\\c'` {
		t.Errorf("quoted %s", got)
	}
}

// Ids in ops are counted in characters and hold no control characters.
func TestParseOpIDs(t *testing.T) {
	op := func(id string) json.RawMessage {
		b, _ := json.Marshal(map[string]string{"kind": "drop_table", "table": id})
		return b
	}
	if _, err := ParseOp(op(strings.Repeat("é", 64))); err != nil {
		t.Errorf("an id of 64 two-byte characters: %v", err)
	}
	for _, id := range []string{strings.Repeat("é", 65), "a\x00b", "a\nb"} {
		if _, err := ParseOp(op(id)); err == nil || !strings.HasPrefix(err.Error(), "table: ") {
			t.Errorf("id %q: %v, want a table field error", id, err)
		}
	}
}
