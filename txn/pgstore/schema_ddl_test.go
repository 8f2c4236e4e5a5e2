package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotrow/internal/dsqldouble"
	"hotrow/internal/testpg"
	"hotrow/rooms"
	"hotrow/rooms/schema"
	"hotrow/txn"
	"hotrow/txn/pgstore"
)

// editor drives a schema engine on a real store, as one hub would.
type editor struct {
	t   *testing.T
	eng rooms.Engine
	svc *schema.Service
	id  string
	n   int
}

func newEditor(t *testing.T, id string) *editor {
	t.Helper()
	s := openStore(t)
	var n atomic.Int64
	deps := rooms.Deps{Runner: &txn.Runner{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewID:  func() string { return fmt.Sprintf("i%d", n.Add(1)) }}
	svc := schema.NewService(s.Schemas(), deps)
	if _, err := svc.Create(context.Background(), schema.CreateRequest{ID: id, Name: "catalog test"}, "tester"); err != nil {
		t.Fatal(err)
	}
	eng := schema.RoomKind(s.Schemas(), deps).New(id)
	if _, err := eng.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &editor{t: t, eng: eng, svc: svc, id: id}
}

func (e *editor) edit(op map[string]any) rooms.Outcome {
	e.t.Helper()
	e.n++
	raw, _ := json.Marshal(op)
	out := e.eng.Apply(context.Background(), &rooms.Mutation{Op: "edit", ID: fmt.Sprint("m", e.n), User: "tester", Payload: raw})
	if out.Event != nil {
		e.eng.Observe(*out.Event)
	}
	return out
}

// ok applies op and returns the id of the entity it created, if any.
func (e *editor) ok(op map[string]any) string {
	e.t.Helper()
	out := e.edit(op)
	if out.Reject != nil {
		e.t.Fatalf("%v: %s: %s", op, out.Reject.Reason, out.Reject.Message)
	}
	var ch schema.Change
	_ = json.Unmarshal(out.Event.Data, &ch)
	switch {
	case ch.Table != nil:
		return ch.Table.ID
	case ch.Column != nil:
		return ch.Column.ID
	case ch.Relation != nil:
		return ch.Relation.ID
	}
	return ""
}

func (e *editor) doc() schema.Doc {
	e.t.Helper()
	d, err := e.svc.Get(context.Background(), e.id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

type m = map[string]any

// catColumn, catFK and catTable are a table as PostgreSQL's catalog has it.
type catColumn struct {
	Name, Type string
	NotNull    bool
	Default    *string // pg_get_expr of the default
}

type catFK struct {
	Column, RefTable, RefColumn, OnDelete string
}

type catTable struct {
	Columns []catColumn
	PK      []string
	Unique  []string // single-column unique constraints
	FKs     []catFK
}

// readCatalog reads every table of the public schema from pg_catalog.
func readCatalog(t *testing.T, conn *pgx.Conn) map[string]*catTable {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'`)
	if err != nil {
		t.Fatal(err)
	}
	names := map[uint32]string{}
	for rows.Next() {
		var oid uint32
		var name string
		if err := rows.Scan(&oid, &name); err != nil {
			t.Fatal(err)
		}
		names[oid] = name
	}
	rows.Close()
	attnames := map[uint32]map[int16]string{}
	out := map[string]*catTable{}
	for oid, name := range names {
		ct := &catTable{}
		out[name] = ct
		attnames[oid] = map[int16]string{}
		rows, err := conn.Query(ctx, `SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, oid)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c catColumn
			var num int16
			if err := rows.Scan(&num, &c.Name, &c.Type, &c.NotNull, &c.Default); err != nil {
				t.Fatal(err)
			}
			attnames[oid][num] = c.Name
			ct.Columns = append(ct.Columns, c)
		}
		rows.Close()
	}
	for oid, name := range names {
		ct := out[name]
		rows, err := conn.Query(ctx, `SELECT contype::text, conkey, coalesce(confrelid, 0), coalesce(confkey, '{}'), confdeltype::text
            FROM pg_constraint WHERE conrelid = $1 ORDER BY conname`, oid)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var typ, del string
			var key, fkey []int16
			var ref uint32
			if err := rows.Scan(&typ, &key, &ref, &fkey, &del); err != nil {
				t.Fatal(err)
			}
			switch typ {
			case "p":
				for _, k := range key {
					ct.PK = append(ct.PK, attnames[oid][k])
				}
			case "u":
				if len(key) != 1 {
					t.Fatalf("unique constraint on %d columns", len(key))
				}
				ct.Unique = append(ct.Unique, attnames[oid][key[0]])
			case "f":
				actions := map[string]string{"a": "no_action", "r": "restrict", "c": "cascade", "n": "set_null", "d": "set_default"}
				ct.FKs = append(ct.FKs, catFK{attnames[oid][key[0]], names[ref], attnames[ref][fkey[0]], actions[del]})
			default:
				t.Fatalf("unexpected constraint type %s on %s", typ, name)
			}
		}
		rows.Close()
		sort.Strings(ct.Unique)
		sort.Slice(ct.FKs, func(i, j int) bool { return fmt.Sprint(ct.FKs[i]) < fmt.Sprint(ct.FKs[j]) })
	}
	return out
}

// expectCatalog is what the catalog must hold for d (defaults compared
// separately).
func expectCatalog(d schema.Doc) map[string]*catTable {
	out := map[string]*catTable{}
	for _, tb := range d.Tables {
		ct := &catTable{}
		for _, c := range tb.Columns {
			typ, _ := schema.ParseType(c.Type)
			ct.Columns = append(ct.Columns, catColumn{Name: c.Name, Type: typ.FormatType(), NotNull: !c.Nullable})
			if c.PrimaryKey {
				ct.PK = append(ct.PK, c.Name)
			}
			if c.Unique {
				ct.Unique = append(ct.Unique, c.Name)
			}
		}
		for _, r := range d.Relations {
			if r.FromTable == tb.ID {
				to := d.Table(r.ToTable)
				ct.FKs = append(ct.FKs, catFK{tb.Column(r.FromColumn).Name, to.Name, to.Column(r.ToColumn).Name, r.OnDelete})
			}
		}
		sort.Strings(ct.Unique)
		sort.Slice(ct.FKs, func(i, j int) bool { return fmt.Sprint(ct.FKs[i]) < fmt.Sprint(ct.FKs[j]) })
		out[tb.Name] = ct
	}
	return out
}

// compareCatalog checks the catalog against the document, defaults by
// evaluating both expressions in PostgreSQL.
func compareCatalog(t *testing.T, conn *pgx.Conn, d schema.Doc, withFKs bool) {
	t.Helper()
	got, want := readCatalog(t, conn), expectCatalog(d)
	funcs := map[string]string{"now()": "now()", "current_date": "CURRENT_DATE", "gen_random_uuid()": "gen_random_uuid()"}
	for _, tb := range d.Tables {
		g := got[tb.Name]
		if g == nil {
			t.Errorf("table %q missing from the catalog", tb.Name)
			continue
		}
		for i, c := range tb.Columns {
			if i >= len(g.Columns) {
				break
			}
			gd := g.Columns[i].Default
			g.Columns[i].Default = nil
			switch {
			case c.Default == nil && gd != nil:
				t.Errorf("%s.%s: catalog default %s, want none", tb.Name, c.Name, *gd)
			case c.Default != nil && gd == nil:
				t.Errorf("%s.%s: no default in the catalog, want %s", tb.Name, c.Name, *c.Default)
			case isFunc(c):
				if *gd != funcs[*c.Default] {
					t.Errorf("%s.%s: catalog default %s, want %s", tb.Name, c.Name, *gd, funcs[*c.Default])
				}
			case c.Default != nil:
				typ, _ := schema.ParseType(c.Type)
				var same bool
				q := fmt.Sprintf(`SELECT ((%s)::%s)::text IS NOT DISTINCT FROM ((%s)::%s)::text`, *gd, typ, typ.DefaultSQL(*c.Default), typ)
				if err := conn.QueryRow(context.Background(), q).Scan(&same); err != nil || !same {
					t.Errorf("%s.%s: catalog default %s differs from %q (%v)", tb.Name, c.Name, *gd, *c.Default, err)
				}
			}
		}
		if !withFKs {
			g.FKs = nil
			want[tb.Name].FKs = nil
		}
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("catalog differs from the document:\n got %s\nwant %s", gj, wj)
	}
}

func isFunc(c schema.Column) bool {
	typ, _ := schema.ParseType(c.Type)
	return c.Default != nil && schema.IsFuncDefault(*c.Default) && typ.Family() != "text"
}

// applyTo runs the export on a fresh database and returns a connection.
func applyTo(t *testing.T, sql string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testpg.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("applying the export: %v\n%s", err, sql)
	}
	return conn
}

func TestSchemaExportRebuildsInPostgres(t *testing.T) {
	t.Parallel()
	e := newEditor(t, "cat")
	users := e.ok(m{"kind": "create_table", "name": "users"})
	uid := e.ok(m{"kind": "add_column", "table": users, "name": "id", "type": "bigint", "primary_key": true})
	e.ok(m{"kind": "add_column", "table": users, "name": "email", "type": "varchar(200)", "unique": true, "nullable": false})
	e.ok(m{"kind": "add_column", "table": users, "name": "code", "type": "character(3)", "default": "ab"})
	e.ok(m{"kind": "add_column", "table": users, "name": "small", "type": "int2", "default": -32768})
	e.ok(m{"kind": "add_column", "table": users, "name": "ratio", "type": "real", "default": "1.5e3"})
	e.ok(m{"kind": "add_column", "table": users, "name": "score", "type": "float8", "default": "-0.25"})
	e.ok(m{"kind": "add_column", "table": users, "name": "balance", "type": "decimal(12,2)", "default": "-1234.5", "nullable": false})
	e.ok(m{"kind": "add_column", "table": users, "name": "active", "type": "bool", "default": true})
	e.ok(m{"kind": "add_column", "table": users, "name": "bio", "type": "text", "default": "it's \\ \"fine\"; --"})
	e.ok(m{"kind": "add_column", "table": users, "name": "avatar", "type": "bytea", "default": `\xDEADBEEF`})
	e.ok(m{"kind": "add_column", "table": users, "name": "token", "type": "uuid", "default": "gen_random_uuid()", "unique": true})
	e.ok(m{"kind": "add_column", "table": users, "name": "ext", "type": "uuid", "default": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"})
	e.ok(m{"kind": "add_column", "table": users, "name": "born", "type": "date", "default": "2000-02-29"})
	e.ok(m{"kind": "add_column", "table": users, "name": "joined", "type": "date", "default": "current_date"})
	e.ok(m{"kind": "add_column", "table": users, "name": "wakes", "type": "time", "default": "07:30"})
	e.ok(m{"kind": "add_column", "table": users, "name": "seen", "type": "timestamp", "default": "2024-01-02T03:04:05.5"})
	e.ok(m{"kind": "add_column", "table": users, "name": "created", "type": "timestamptz", "default": "now()", "nullable": false})
	e.ok(m{"kind": "add_column", "table": users, "name": "fixed", "type": "timestamp with time zone", "default": "2024-06-01 12:00:00+02:00"})
	e.ok(m{"kind": "add_column", "table": users, "name": "note", "type": "text", "default": "now()"})
	orders := e.ok(m{"kind": "create_table", "name": "orders"})
	o1 := e.ok(m{"kind": "add_column", "table": orders, "name": "shop", "type": "integer", "primary_key": true})
	o2 := e.ok(m{"kind": "add_column", "table": orders, "name": "no", "type": "bigint", "primary_key": true})
	ouser := e.ok(m{"kind": "add_column", "table": orders, "name": "user_id", "type": "integer"})
	e.ok(m{"kind": "add_relation", "from_table": orders, "from_column": ouser, "to_table": users, "to_column": uid, "on_delete": "set_null"})
	// A cycle and a self-reference.
	lines := e.ok(m{"kind": "create_table", "name": "lines"})
	lid := e.ok(m{"kind": "add_column", "table": lines, "name": "id", "type": "bigint", "primary_key": true})
	lparent := e.ok(m{"kind": "add_column", "table": lines, "name": "parent", "type": "bigint"})
	e.ok(m{"kind": "add_relation", "from_table": lines, "from_column": lparent, "to_table": lines, "to_column": lid, "on_delete": "cascade"})
	lorder := e.ok(m{"kind": "add_column", "table": lines, "name": "order_no", "type": "bigint", "nullable": false})
	e.ok(m{"kind": "alter_column", "table": orders, "column": o2, "unique": true})
	e.ok(m{"kind": "add_relation", "from_table": lines, "from_column": lorder, "to_table": orders, "to_column": o2, "on_delete": "restrict"})
	ofirst := e.ok(m{"kind": "add_column", "table": orders, "name": "first_line", "type": "bigint"})
	e.ok(m{"kind": "add_relation", "from_table": orders, "from_column": ofirst, "to_table": lines, "to_column": lid})
	e.ok(m{"kind": "move_table", "table": orders, "x": 100, "y": 200})
	e.ok(m{"kind": "rename_table", "table": orders, "name": "Orders"})
	_ = o1
	empty := e.ok(m{"kind": "create_table", "name": "empty"})
	_ = empty

	d := e.doc()
	sql, err := e.svc.DDL(context.Background(), "cat", "postgres")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := schema.Export(d, schema.Postgres); again != sql {
		t.Fatal("the export is not deterministic")
	}
	if !strings.Contains(sql, "ALTER TABLE") {
		t.Fatalf("the cycle did not need ALTER TABLE:\n%s", sql)
	}
	conn := applyTo(t, sql)
	compareCatalog(t, conn, d, true)

	// The dsql export, with CREATE INDEX ASYNC made plain (PostgreSQL has no
	// ASYNC), also runs statement by statement and builds the same tables,
	// without foreign keys.
	dsql, err := e.svc.DDL(context.Background(), "cat", "dsql")
	if err != nil {
		t.Fatal(err)
	}
	checkDSQL(t, dsql)
	conn2 := applyTo(t, strings.ReplaceAll(dsql, "INDEX ASYNC", "INDEX"))
	got := readCatalog(t, conn2)
	for name, ct := range got {
		if len(ct.FKs) != 0 {
			t.Errorf("dsql export made foreign keys on %s", name)
		}
	}
	// Unique indexes from CREATE UNIQUE INDEX are not constraints: check
	// they exist.
	var n int
	if err := conn2.QueryRow(context.Background(), `SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = 'public'::regnamespace AND i.indisunique AND NOT i.indisprimary`).Scan(&n); err != nil || n != 3 {
		t.Errorf("dsql export made %d unique indexes, want 3 (%v)", n, err)
	}
	compareCatalog(t, conn2, withoutUnique(d), false)

	// And as written, through the DSQL double: every transaction accepted,
	// every unique index built by its job.
	compareCatalog(t, applyThroughDouble(t, dsql), withoutUnique(d), false)
}

// applyThroughDouble runs a dsql export, as written, on a fresh DSQL test
// double, waits for its index jobs, checks they completed, and returns a
// connection through the double.
func applyThroughDouble(t *testing.T, sql string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := dsqlStore(t, dsqldouble.New(t, dsqldouble.Options{})).Pool()
	c, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Release)
	results, err := c.Conn().PgConn().Exec(ctx, sql).ReadAll()
	if err != nil {
		t.Fatalf("the DSQL double refused the export: %v\n%s", err, sql)
	}
	jobs := 0
	for _, r := range results {
		if r.CommandTag.String() != "CREATE INDEX" {
			continue
		}
		jobs++
		job := string(r.Rows[0][0])
		if _, err := c.Exec(ctx, "CALL sys.wait_for_job('"+job+"')"); err != nil {
			t.Fatal(err)
		}
		var status string
		var details *string
		if err := c.QueryRow(ctx, `SELECT status, details FROM sys.jobs WHERE job_id = $1`, job).Scan(&status, &details); err != nil {
			t.Fatal(err)
		}
		if status != "completed" || details != nil {
			t.Fatalf("index job %s: %s %v", job, status, details)
		}
	}
	if jobs == 0 {
		t.Fatal("the export created no index")
	}
	return c.Conn()
}

// checkDSQL runs the DSQL checker on every transaction of a dsql export.
func checkDSQL(t *testing.T, sql string) {
	t.Helper()
	blocks := strings.Split(sql, "BEGIN;\n")[1:]
	if len(blocks) == 0 {
		t.Fatalf("dsql export has no transactions:\n%s", sql)
	}
	for _, b := range blocks {
		body, _, ok := strings.Cut(b, "COMMIT;")
		if !ok {
			t.Fatalf("transaction without COMMIT: %s", b)
		}
		if p := pgstore.DSQLProblems(body); len(p) > 0 {
			t.Errorf("DSQL would refuse %s: %v", body, p)
		}
	}
}

func withoutUnique(d schema.Doc) schema.Doc {
	d = d.Clone()
	for i := range d.Tables {
		for j := range d.Tables[i].Columns {
			d.Tables[i].Columns[j].Unique = false
		}
	}
	return d
}

func TestSchemaHostileNames(t *testing.T) {
	t.Parallel()
	e := newEditor(t, "hostile")
	tables := []string{
		"select", "Select", `a"b`, `"`, `""`, `x; DROP TABLE y; --`, `back\slash`, `trailing\`, `'quoted'`,
		"ünïcødé 表", "$1", "/* comment */", "--", "select_pkey", "t_pkey",
		strings.Repeat("a", 63), strings.Repeat("表", 21), strings.Repeat("é", 31) + "x",
	}
	columns := []string{"from", `a""b`, `\`, "😀", "id; DROP", "e'", strings.Repeat("c", 63), "user", "inner  spaces"}
	for _, name := range tables {
		tb := e.ok(m{"kind": "create_table", "name": name})
		for i, c := range columns {
			op := m{"kind": "add_column", "table": tb, "name": c, "type": "text"}
			if i == 0 {
				op["type"], op["primary_key"] = "integer", true
			}
			if i == 1 {
				op["unique"] = true
				op["default"] = `'); DROP TABLE "select"; --\`
			}
			e.ok(op)
		}
	}
	// Relations between hostile names.
	d := e.doc()
	for i := 1; i < len(d.Tables); i++ {
		from, to := d.Tables[i], d.Tables[i-1]
		c := e.ok(m{"kind": "add_column", "table": from.ID, "name": "ref " + to.Name[:min(len(to.Name), 50)], "type": "bigint"})
		e.ok(m{"kind": "add_relation", "from_table": from.ID, "from_column": c, "to_table": to.ID, "to_column": to.Columns[0].ID})
	}
	// Names that cannot be PostgreSQL identifiers are rejected, and say why.
	for _, bad := range []struct{ name, why string }{
		{strings.Repeat("a", 64), "at most 63 bytes"},
		{strings.Repeat("表", 22), "at most 63 bytes"},
		{strings.Repeat("é", 32), "at most 63 bytes"},
		{"a\x00b", "control characters"},
		{"a\nb", "control characters"},
		{"", "empty"},
		{" lead", "white space"},
	} {
		out := e.edit(m{"kind": "create_table", "name": bad.name})
		if out.Reject == nil || out.Reject.Reason != schema.ReasonInvalidOp ||
			!strings.HasPrefix(out.Reject.Message, "name: ") || !strings.Contains(out.Reject.Message, bad.why) {
			t.Errorf("create_table %q = %+v, want invalid_op on name saying %q", bad.name, out.Reject, bad.why)
		}
	}
	d = e.doc()
	sql, err := schema.Export(d, schema.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	conn := applyTo(t, sql)
	compareCatalog(t, conn, d, true)
	dsql, _ := schema.Export(d, schema.DSQL)
	checkDSQL(t, dsql)
	// Exactly those names, and nothing else.
	var got []string
	rows, err := conn.Query(context.Background(), `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		got = append(got, s)
	}
	rows.Close()
	want := append([]string(nil), tables...)
	sort.Strings(want)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tables %q, want %q", got, want)
	}
}
