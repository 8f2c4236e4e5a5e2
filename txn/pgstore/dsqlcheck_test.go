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
