package schema

import (
	"errors"
	"hotrow/rooms"
	"strings"
	"testing"
)

// sampleDoc has a dependency chain created out of order, a cycle, a
// self-reference, unique columns and defaults.
func sampleDoc(t *testing.T) *memDoc {
	m := newMemDoc(t)
	child := m.ok(`{"kind":"create_table","name":"child"}`)
	parent := m.ok(`{"kind":"create_table","name":"parent"}`)
	pid := m.ok(`{"kind":"add_column","table":%q,"name":"id","type":"bigint","primary_key":true}`, parent)
	m.ok(`{"kind":"add_column","table":%q,"name":"code","type":"char(3)","unique":true,"default":"abc"}`, parent)
	m.ok(`{"kind":"add_column","table":%q,"name":"price","type":"numeric(10,2)","nullable":false,"default":"9.99"}`, parent)
	cpid := m.ok(`{"kind":"add_column","table":%q,"name":"parent_id","type":"bigint"}`, child)
	cid := m.ok(`{"kind":"add_column","table":%q,"name":"id","type":"integer","primary_key":true}`, child)
	up := m.ok(`{"kind":"add_column","table":%q,"name":"up","type":"integer"}`, child)
	m.ok(`{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q,"on_delete":"cascade"}`, child, cpid, parent, pid)
	m.ok(`{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q}`, child, up, child, cid)
	a := m.ok(`{"kind":"create_table","name":"a"}`)
	b := m.ok(`{"kind":"create_table","name":"b"}`)
	aid := m.ok(`{"kind":"add_column","table":%q,"name":"id","type":"integer","primary_key":true}`, a)
	bid := m.ok(`{"kind":"add_column","table":%q,"name":"id","type":"integer","primary_key":true}`, b)
	ab := m.ok(`{"kind":"add_column","table":%q,"name":"b_id","type":"integer"}`, a)
	ba := m.ok(`{"kind":"add_column","table":%q,"name":"a_id","type":"integer"}`, b)
	m.ok(`{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q}`, a, ab, b, bid)
	m.ok(`{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q,"on_delete":"set_null"}`, b, ba, a, aid)
	return m
}

func TestExportPostgres(t *testing.T) {
	m := sampleDoc(t)
	sql, err := Export(m.d, Postgres)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Export(m.d.Clone(), Postgres)
	if sql != again {
		t.Fatal("export is not deterministic")
	}
	for _, want := range []string{
		"BEGIN;",
		`"code" char(3) DEFAULT 'abc'`,
		`"price" numeric(10,2) NOT NULL DEFAULT 9.99`,
		`CONSTRAINT "parent_pkey" PRIMARY KEY ("id")`,
		`CONSTRAINT "parent_code_key" UNIQUE ("code")`,
		`CONSTRAINT "child_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "parent" ("id") ON DELETE CASCADE`,
		`CONSTRAINT "child_up_fkey" FOREIGN KEY ("up") REFERENCES "child" ("id") ON DELETE NO ACTION`,
		`ALTER TABLE "a" ADD CONSTRAINT "a_b_id_fkey" FOREIGN KEY ("b_id") REFERENCES "b" ("id")`,
		"COMMIT;",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("export lacks %s:\n%s", want, sql)
		}
	}
	// parent before child although created after it; a before b (a cycle,
	// broken by creation order).
	if strings.Index(sql, `CREATE TABLE "parent"`) > strings.Index(sql, `CREATE TABLE "child"`) ||
		strings.Index(sql, `CREATE TABLE "a"`) > strings.Index(sql, `CREATE TABLE "b"`) {
		t.Errorf("tables out of dependency order:\n%s", sql)
	}
}

func TestExportDSQL(t *testing.T) {
	m := sampleDoc(t)
	sql, err := Export(m.d, DSQL)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToUpper(sql), "SERIAL") {
		t.Error("dsql export uses SERIAL")
	}
	stmts := 0
	for _, line := range strings.Split(sql, "\n") {
		if strings.Contains(line, "FOREIGN KEY") && !strings.HasPrefix(line, "-- ") {
			t.Errorf("foreign key outside a comment: %s", line)
		}
		if line == "BEGIN;" {
			stmts++
		}
	}
	// Every DDL statement is alone in its transaction.
	blocks := strings.Split(sql, "BEGIN;\n")[1:]
	for _, b := range blocks {
		body := b[:strings.Index(b, "COMMIT;")]
		if strings.Count(body, ";") != 1 {
			t.Errorf("transaction with more than one statement: %s", body)
		}
	}
	if stmts != 5 { // 4 tables + 1 unique index
		t.Errorf("%d transactions, want 5:\n%s", stmts, sql)
	}
	for _, want := range []string{
		`CREATE UNIQUE INDEX ASYNC "parent_code_key" ON "parent" ("code");`,
		`numeric(10,2)`,
		`-- "child": CONSTRAINT "child_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "parent" ("id") ON DELETE CASCADE`,
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("dsql export lacks %s:\n%s", want, sql)
		}
	}
	if strings.Contains(sql, "UNIQUE (") {
		t.Error("dsql export declares a unique constraint inline")
	}
}

func TestExportNames(t *testing.T) {
	m := newMemDoc(t)
	long := strings.Repeat("é", 31) + "x" // 63 bytes
	a := m.ok(`{"kind":"create_table","name":%q}`, long)
	m.ok(`{"kind":"add_column","table":%q,"name":"id","type":"integer","primary_key":true}`, a)
	m.ok(`{"kind":"create_table","name":"t_pkey"}`)
	tt := m.ok(`{"kind":"create_table","name":"t"}`)
	m.ok(`{"kind":"add_column","table":%q,"name":"a\"b","type":"integer","primary_key":true}`, tt)
	sql, _ := Export(m.d, Postgres)
	if !strings.Contains(sql, `CONSTRAINT "t_pkey1" PRIMARY KEY ("a""b")`) {
		t.Errorf("colliding constraint name not renumbered:\n%s", sql)
	}
	want := `CONSTRAINT "` + strings.Repeat("é", 29) + `_pkey"`
	if !strings.Contains(sql, want) {
		t.Errorf("long constraint name not truncated on a character boundary:\n%s", sql)
	}
	if _, err := Export(m.d, "mysql"); err == nil {
		t.Error("unknown dialect accepted")
	}
}

// The dsql export refuses what Aurora DSQL refuses, naming each column;
// the postgres export of the same document is fine.
func TestExportDSQLLimits(t *testing.T) {
	m := newMemDoc(t)
	m.fast = true
	tb := m.ok(`{"kind":"create_table","name":"wide"}`)
	m.ok(`{"kind":"add_column","table":%q,"name":"code","type":"char(5000)"}`, tb)
	m.ok(`{"kind":"add_column","table":%q,"name":"body","type":"varchar(70000)"}`, tb)
	m.ok(`{"kind":"add_column","table":%q,"name":"ratio","type":"numeric(38,38)"}`, tb)
	m.ok(`{"kind":"add_column","table":%q,"name":"fine","type":"varchar(65535)"}`, tb)
	keys := m.ok(`{"kind":"create_table","name":"keys"}`)
	for i := range 9 {
		m.ok(`{"kind":"add_column","table":%q,"name":"k%d","type":"integer","primary_key":true}`, keys, i)
	}
	uniq := m.ok(`{"kind":"create_table","name":"uniq"}`)
	for i := range 24 {
		m.ok(`{"kind":"add_column","table":%q,"name":"u%d","type":"integer","unique":true}`, uniq, i)
	}
	m.ok(`{"kind":"add_column","table":%q,"name":"id","type":"integer","primary_key":true}`, uniq)

	if _, err := Export(m.d, Postgres); err != nil {
		t.Fatalf("postgres export: %v", err)
	}
	_, err := Export(m.d, DSQL)
	var fe *rooms.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("dsql export: %v, want a FieldError", err)
	}
	for _, want := range []string{
		`column "wide"."code": char(5000) is over DSQL's limit of 4096 bytes`,
		`column "wide"."body": varchar(70000) is over DSQL's limit of 65535 bytes`,
		`column "wide"."ratio": numeric(38,38) has a scale over DSQL's 37`,
		`table "keys": a primary key of 9 columns is over DSQL's 8`,
		`table "uniq": 25 indexes`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"fine"`) {
		t.Errorf("varchar(65535) refused: %v", err)
	}

	ok := newMemDoc(t)
	ok.fast = true
	tb = ok.ok(`{"kind":"create_table","name":"t"}`)
	ok.ok(`{"kind":"add_column","table":%q,"name":"name","type":"varchar(20000)"}`, tb)
	sql, err := Export(ok.d, DSQL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sql, `-- column "t"."name" varchar(20000): DSQL refuses values over 65535 bytes`) {
		t.Errorf("no note on a length whose bytes may exceed the limit:\n%s", sql)
	}
}
