package pgstore

import (
	"strings"
	"testing"
)

func TestDSQLProblems(t *testing.T) {
	cases := []struct {
		sql  string
		want string // "" means no problem
	}{
		{`CREATE TABLE IF NOT EXISTS t (id text PRIMARY KEY, n bigint NOT NULL)`, ""},
		{`CREATE TABLE "serial" ("json" text, note text DEFAULT 'a REFERENCES b; TRUNCATE')`, ""},
		{`-- a comment naming SERIAL and json
CREATE TABLE t (id text PRIMARY KEY) /* trigger */`, ""},
		{`CREATE TABLE t (id bigserial PRIMARY KEY)`, "SERIAL"},
		{`CREATE TABLE t (id serial)`, "SERIAL"},
		{`CREATE TABLE t (doc jsonb)`, "json/jsonb"},
		{`CREATE TABLE t (a text REFERENCES u (id))`, "foreign keys"},
		{`ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id)`, "foreign keys"},
		{`CREATE INDEX i ON t (a)`, "ASYNC"},
		{`CREATE UNIQUE INDEX IF NOT EXISTS i ON t (a)`, "ASYNC"},
		{`CREATE INDEX ASYNC i ON t (a)`, ""},
		{`CREATE UNIQUE INDEX ASYNC IF NOT EXISTS i ON t (a)`, ""},
		{`CREATE TABLE a (x text); CREATE TABLE b (y text)`, "2 DDL statements"},
		{`CREATE TABLE a (x text); INSERT INTO a VALUES ('1')`, "DDL beside DML"},
		{`TRUNCATE t`, "TRUNCATE"},
		{`SAVEPOINT s`, "SAVEPOINT"},
		{`NOTIFY ch`, "LISTEN/NOTIFY"},
		{`SELECT pg_advisory_lock(1)`, "advisory"},
		{`CREATE TEMP TABLE t (a text)`, "temporary"},
		{`SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`, "isolation"},
		{`SET statement_timeout = 1000`, "statement_timeout"},
		{`CREATE EXTENSION pgcrypto`, "extensions"},
		{`CREATE TRIGGER x AFTER INSERT ON t EXECUTE FUNCTION f()`, "triggers"},
	}
	for _, tc := range cases {
		got := DSQLProblems(tc.sql)
		if tc.want == "" {
			if len(got) != 0 {
				t.Errorf("%q: unexpected problems %v", tc.sql, got)
			}
			continue
		}
		if !strings.Contains(strings.Join(got, "\n"), tc.want) {
			t.Errorf("%q: problems %v, want one about %q", tc.sql, got, tc.want)
		}
	}
}

// Every migration is valid on Aurora DSQL: one DDL statement, nothing DSQL
// refuses. (Each runs in a transaction of its own; its record is written by
// a separate statement after it.)
func TestMigrationsAreDSQLCompatible(t *testing.T) {
	seen := map[int]bool{}
	for i, m := range Migrations {
		if m.Version != i+1 || seen[m.Version] {
			t.Errorf("migration %d (%s) is out of order: versions must be 1, 2, 3, …", m.Version, m.Name)
		}
		seen[m.Version] = true
		for _, p := range DSQLProblems(m.SQL(DSQL)) {
			t.Errorf("migration %d (%s): %s", m.Version, m.Name, p)
		}
		if n := len(splitStatements(m.SQL(DSQL))); n != 1 {
			t.Errorf("migration %d (%s) has %d statements, want 1", m.Version, m.Name, n)
		}
	}
	if p := DSQLProblems(migrationsTable); len(p) != 0 {
		t.Errorf("hotrow_migrations: %v", p)
	}
}

// On DSQL an index is CREATE INDEX ASYNC; on PostgreSQL a plain one.
func TestIndexMigrationDialects(t *testing.T) {
	m := Migration{Version: 1, Name: "i", Index: &Index{Name: "i", Table: "t", Columns: []string{"a", "b"}, Unique: true}}
	if got, want := m.SQL(DSQL), "CREATE UNIQUE INDEX ASYNC IF NOT EXISTS i ON t (a, b)"; got != want {
		t.Errorf("dsql: %s, want %s", got, want)
	}
	if got, want := m.SQL(Postgres), "CREATE UNIQUE INDEX IF NOT EXISTS i ON t (a, b)"; got != want {
		t.Errorf("postgres: %s, want %s", got, want)
	}
}
