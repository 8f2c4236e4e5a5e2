package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParseOp: any bytes as an op never panic; an op that parses is in
// canonical form: encoding it and parsing it again gives the same op.
func FuzzParseOp(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"create_table","name":"users","x":1.5,"y":-2}`,
		`{"kind":"add_column","table":"t1","name":"id","type":"INT8","primary_key":true,"nullable":false}`,
		`{"kind":"add_column","table":"t1","name":"n","type":"numeric(10, 2)","default":"-0012.50"}`,
		`{"kind":"alter_column","table":"t1","column":"c1","default":null,"expect_rev":3}`,
		`{"kind":"add_relation","from_table":"a","from_column":"b","to_table":"c","to_column":"d","on_delete":"SET NULL"}`,
		`{"kind":"rename_table","table":"t","name":"\"; DROP TABLE x; --"}`,
		`{"kind":"move_table","table":"t","x":1e400,"y":0}`,
		`{"kind":"add_column","table":"t","name":"ts","type":"timestamp with time zone","default":"2024-02-30 25:00:00+14"}`,
		`{"kind":"drop_table","table":"` + strings.Repeat("é", 65) + `"}`,
		`{"kind":"create_table","name":"a\u0000b"}`, `{"kind":"nope"}`, `[]`, `null`, `{`, `{"kind":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		op, err := ParseOp(raw)
		if err != nil {
			if !strings.Contains(err.Error(), ": ") {
				t.Fatalf("error %q does not name its field", err)
			}
			return
		}
		b, err := json.Marshal(op)
		if err != nil {
			t.Fatalf("a parsed op does not encode: %v", err)
		}
		again, err := ParseOp(b)
		if err != nil {
			t.Fatalf("the canonical form %s of %q does not parse: %v", b, raw, err)
		}
		if !reflect.DeepEqual(op, again) {
			t.Fatalf("not canonical: %q parsed as %s, which parses as %+v", raw, b, again)
		}
		if op.Name != nil && CheckIdent(*op.Name) != nil {
			t.Fatalf("accepted the name %q", *op.Name)
		}
	})
}

// FuzzExportQuoting: whatever names and default a document holds, the DDL
// export keeps every one of them inside its quotes. The export is lexed
// as SQL: every quoted identifier and literal must close, and every word
// outside quotes and comments must be one the exporter writes itself, so
// nothing from the document can run as SQL.
func FuzzExportQuoting(f *testing.F) {
	f.Add("users", "id", "orders", "owner", "it's \\ fine")
	f.Add(`a"b`, `"; DROP TABLE x; --`, "t2", "c2", `'); DROP TABLE y; --`)
	f.Add("select", "from", "Ünïcödé", "名前", `E'\\x'`)
	f.Add(strings.Repeat("x", 63), "*/ /*", "-- c", "c\u2028d", "")
	f.Fuzz(func(t *testing.T, t1, c1, t2, c2, def string) {
		for _, n := range []string{t1, c1, t2, c2} {
			if CheckIdent(n) != nil {
				return
			}
		}
		if t1 == t2 {
			return
		}
		typ, _ := ParseType("text")
		var dflt *string
		if def != "" {
			v, err := typ.CheckDefault(def)
			if err != nil {
				return
			}
			dflt = &v
		}
		d := Doc{ID: "doc", Name: "doc", Version: 5,
			Tables: []Table{
				{ID: "T1", Name: t1, Rev: 1, Pos: 1, Columns: []Column{
					{ID: "C1", Table: "T1", Name: c1, Type: "text", PrimaryKey: true, Rev: 1, Pos: 2},
					{ID: "C3", Table: "T1", Name: c1 + "2", Type: "text", Nullable: true, Unique: true, Default: dflt, Rev: 1, Pos: 3},
				}},
				{ID: "T2", Name: t2, Rev: 1, Pos: 4, Columns: []Column{
					{ID: "C2", Table: "T2", Name: c2, Type: "text", Nullable: true, Rev: 1, Pos: 5},
				}},
			},
			Relations: []Relation{{ID: "R1", FromTable: "T2", FromColumn: "C2", ToTable: "T1", ToColumn: "C1", OnDelete: "cascade", Rev: 1, Pos: 6}},
		}
		if CheckIdent(c1+"2") != nil {
			return
		}
		for _, dl := range []Dialect{Postgres, DSQL} {
			sql, err := Export(d, dl)
			if err != nil {
				t.Fatalf("%s export: %v", dl, err)
			}
			idents, literals, err := lexSQL(sql)
			if err != nil {
				t.Fatalf("%s export does not lex (%v):\n%s", dl, err, sql)
			}
			for _, n := range []string{t1, c1, t2} {
				if !idents[n] {
					t.Fatalf("%s export lost the identifier %q:\n%s", dl, n, sql)
				}
			}
			if dflt != nil && !literals[*dflt] {
				t.Fatalf("%s export lost the default %q:\n%s", dl, *dflt, sql)
			}
		}
	})
}

// exporterWords are the words the exporter writes outside quotes.
var exporterWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`BEGIN COMMIT CREATE TABLE PRIMARY KEY UNIQUE NOT NULL DEFAULT
		REFERENCES ON DELETE NO ACTION RESTRICT CASCADE SET ALTER ADD CONSTRAINT FOREIGN INDEX ASYNC
		text`) {
		exporterWords[w] = true
	}
}

// lexSQL splits DDL into quoted identifiers ("..."), string literals
// ('...' and E'...'), comments (-- to the end of the line), words and
// punctuation, and checks every word is an exporter word. It returns the
// decoded identifiers and literals.
func lexSQL(sql string) (idents, literals map[string]bool, err error) {
	idents, literals = map[string]bool{}, map[string]bool{}
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t':
			i++
		case strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				return nil, nil, fmt.Errorf("a comment runs to the end")
			}
			i += end + 1
		case c == '"':
			s, n, ok := quoted(sql[i:], '"', false)
			if !ok {
				return nil, nil, fmt.Errorf("an identifier at %d does not close", i)
			}
			idents[s] = true
			i += n
		case c == '\'' || (c == 'E' && i+1 < len(sql) && sql[i+1] == '\''):
			esc := c == 'E'
			if esc {
				i++
			}
			s, n, ok := quoted(sql[i:], '\'', esc)
			if !ok {
				return nil, nil, fmt.Errorf("a literal at %d does not close", i)
			}
			literals[s] = true
			i += n
		case strings.IndexByte("(),;.", c) >= 0 || c >= '0' && c <= '9':
			i++
		case c == '_' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)):
			j := i
			for j < len(sql) && (sql[j] == '_' || sql[j] < utf8.RuneSelf && (unicode.IsLetter(rune(sql[j])) || unicode.IsDigit(rune(sql[j])))) {
				j++
			}
			if w := sql[i:j]; !exporterWords[w] {
				return nil, nil, fmt.Errorf("the word %q outside quotes", w)
			}
			i = j
		default:
			return nil, nil, fmt.Errorf("%q outside quotes at %d", c, i)
		}
	}
	return idents, literals, nil
}

// quoted reads a quoted token starting at s[0] == q, with q doubled inside
// and, for E” literals, backslash escapes; it returns the decoded text and
// the bytes consumed.
func quoted(s string, q byte, backslash bool) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case backslash && s[i] == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case s[i] == q && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i++
		case s[i] == q:
			return b.String(), i + 1, true
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, false
}
