package dsqldouble

import (
	"reflect"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	cases := map[string][]string{
		"SELECT 1; SELECT 2":                          {"SELECT 1", "SELECT 2"},
		"SELECT ';' ; SELECT \"a;b\" FROM t;":         {"SELECT ';'", `SELECT "a;b" FROM t`},
		"SELECT $$a;b$$; SELECT $x$ ; $x$":            {"SELECT $$a;b$$", "SELECT $x$ ; $x$"},
		"-- only a comment; really\n":                 nil,
		"/* a; /* nested; */ b; */ SELECT 1;;":        {"/* a; /* nested; */ b; */ SELECT 1"},
		"SELECT E'it\\'s;' ; BEGIN":                   {"SELECT E'it\\'s;'", "BEGIN"},
		"CREATE FUNCTION f() AS $$ SELECT 1; $$; END": {"CREATE FUNCTION f() AS $$ SELECT 1; $$", "END"},
	}
	for in, want := range cases {
		if got := splitStatements(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitStatements(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		sql     string
		kind    kind
		refused string // the refusal's SQLSTATE, or ""
		tables  []string
	}{
		{"SELECT 1", kRead, "", nil},
		{"select * from t for update", kLocking, "", nil},
		{"SELECT * FROM t FOR KEY SHARE", kLocking, "", nil},
		{"SELECT * FROM t FOR SHARE", kRead, "0A000", nil},
		{"SELECT substring('abc' FOR 2)", kRead, "", nil},
		{"INSERT INTO public.\"Bids\" VALUES (1)", kDML, "", []string{"Bids"}},
		{"UPDATE ONLY rooms SET v = 1", kDML, "", []string{"rooms"}},
		{"DELETE FROM applied WHERE x", kDML, "", []string{"applied"}},
		{"WITH u AS (UPDATE rooms SET v = 2 RETURNING *) INSERT INTO events SELECT * FROM u", kDML, "", []string{"rooms", "events"}},
		{"WITH x AS (SELECT 1) SELECT * FROM x", kRead, "", nil},
		{"INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 2", kDML, "", []string{"t"}},
		{"CREATE TABLE t (serial int, id bigserial)", kDDL, "42704", nil},
		{"CREATE TABLE t (\"serial\" int, kind text)", kDDL, "", nil},
		{"ALTER TABLE t ADD COLUMN n serial8", kDDL, "42704", nil},
		{"CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY)", kDDL, "", nil},
		{"CREATE TEMP TABLE t (id int)", kDDL, "0A000", nil},
		{"CREATE GLOBAL TEMPORARY TABLE t (id int)", kDDL, "0A000", nil},
		{"create unique index async if not exists i on t (a)", kIndexAsync, "", nil},
		{"CREATE INDEX i ON t (a)", kDDL, "0A000", nil},
		{"BEGIN", kBegin, "", nil},
		{"START TRANSACTION ISOLATION LEVEL READ COMMITTED", kBegin, "0A000", nil},
		{"begin isolation level repeatable read read only", kBegin, "", nil},
		{"COMMIT", kCommit, "", nil},
		{"ROLLBACK TO SAVEPOINT s", kRollback, "0A000", nil},
		{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", kOther, "0A000", nil},
		{"SET SESSION transaction_isolation = 'serializable'", kOther, "0A000", nil},
		{"SET search_path = public", kOther, "", nil},
		{"CALL sys.wait_for_job('abc')", kWaitForJob, "", nil},
		{"CALL sys.wait_for_job($1)", kWaitForJob, "", nil},
		{"SELECT * FROM t WHERE sys.wait_for_job($1)", kRead, "42809", nil},
		{"CALL other_proc()", kOther, "", nil},
	}
	for _, tc := range cases {
		s := classify(tc.sql)
		code := ""
		if s.refuse != nil {
			code = s.refuse.Code
		}
		if s.kind != tc.kind || code != tc.refused || !reflect.DeepEqual(s.tables, tc.tables) {
			t.Errorf("classify(%q) = kind %d, refused %q, tables %q; want %d, %q, %q",
				tc.sql, s.kind, code, s.tables, tc.kind, tc.refused, tc.tables)
		}
	}
	ix := classify(`CREATE UNIQUE INDEX ASYNC IF NOT EXISTS "Ix" ON ONLY public.t (a) WHERE a > 0`).index
	if ix == nil || ix.name != "Ix" || ix.table != "t" || !ix.ifNotExists ||
		ix.build != `CREATE UNIQUE INDEX IF NOT EXISTS "Ix" ON ONLY public.t (a) WHERE a > 0` {
		t.Errorf("index %+v", ix)
	}
}

func TestRewrites(t *testing.T) {
	counts := map[string]string{
		"UPDATE rooms SET version = $2 WHERE room = $1 AND version = $3": "SELECT count(*) FROM  rooms  WHERE  room = $1 AND version = $3",
		"UPDATE t AS x SET a = (SELECT 1 FROM u WHERE u.id = x.id)":      "SELECT count(*) FROM  t AS x ",
		"DELETE FROM s WHERE doc = $1 AND id = ANY($2)":                  "SELECT count(*) FROM  s  WHERE  doc = $1 AND id = ANY($2)",
		"UPDATE t SET a = 1 FROM u":                                      "",
		"UPDATE t SET a = 1 RETURNING a":                                 "",
		"DELETE FROM t USING u WHERE t.id = u.id":                        "",
	}
	for in, want := range counts {
		got, _, ok := countRewrite(classify(in))
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("countRewrite(%q) = %q, want %q", in, got, want)
		}
	}
	inserts := map[string]int{ // -1: not answerable
		"INSERT INTO t VALUES (1, 'a')":                               1,
		"INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, now())": 3,
		"INSERT INTO t DEFAULT VALUES":                                1,
		"INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING":             1,
		"INSERT INTO t VALUES (1), (2) ON CONFLICT DO NOTHING":        -1,
		"INSERT INTO t VALUES (1) RETURNING id":                       -1,
		"INSERT INTO t SELECT * FROM u":                               -1,
	}
	for in, want := range inserts {
		n, ok := insertRows(lex(in))
		if !ok {
			n = -1
		}
		if n != want {
			t.Errorf("insertRows(%q) = %d, want %d", in, n, want)
		}
	}
	locks := map[string]string{
		"SELECT a FROM t WHERE id = $1 FOR UPDATE":                    "SELECT a FROM t WHERE id = $1 ",
		"SELECT a FROM t FOR UPDATE OF t NOWAIT":                      "SELECT a FROM t ",
		"SELECT * FROM (SELECT a FROM t FOR KEY SHARE SKIP LOCKED) x": "SELECT * FROM (SELECT a FROM t ) x",
	}
	for in, want := range locks {
		if got := stripLocking(classify(in)); got != want {
			t.Errorf("stripLocking(%q) = %q, want %q", in, got, want)
		}
	}
}
