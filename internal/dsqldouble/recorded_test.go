package dsqldouble_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"hotrow/internal/dsqldouble"
)

// The double against the recordings of a real Aurora DSQL cluster: the
// conformance golden files of the open-source dsql-emulator project
// (github.com/Dreamescaper/dsql-emulator, test/conformance/golden/<file>,
// recorded 2026-09). Each case below is a recorded case, named
// <file>:<case>, with its steps and the cluster's answers; each runs on a
// session in a state of its own (the previous case's transaction rolled
// back), in the recorded order, through both the simple
// and the extended query protocol (the multi-statement cases, which only
// the simple protocol can send, through that one).

// want is one recorded observation.
type want struct {
	tag   string
	cols  []string
	rows  [][]string
	jobID bool // the one value is a job id (recorded with ignore_rows)
	code  string
	msg   string
}

func ok(tag string, rows ...[]string) want { return want{tag: tag, rows: rows} }
func fails(code, msg string) want          { return want{code: code, msg: msg} }
func job() want                            { return want{tag: "CREATE INDEX", cols: []string{"job_id"}, jobID: true} }

type recorded struct {
	name  string // file:case
	steps []string
	want  []want
	multi bool // one simple query holding several statements: want holds its results
}

var (
	errAborted = fails("25P02", "current transaction is aborted, commands ignored until end of transaction block")
	jobIDForm  = regexp.MustCompile(`^[a-z2-7]{26}$`)
)

// recordedSetup is the schema the cases need (the suite's setup,
// internal/conformance/suite.go, reduced to the tables used here).
var recordedSetup = []string{
	`CREATE TABLE baseline_parent (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL)`,
	`CREATE TABLE baseline_idx (id uuid PRIMARY KEY, value text)`,
	`CREATE TABLE baseline_bulk (id int)`,
	`CREATE TABLE baseline_implicit_bulk (id int)`,
	`CREATE TABLE baseline_multi (id int PRIMARY KEY, a int)`,
	`INSERT INTO baseline_parent (id, name) VALUES ('00000000-0000-0000-0000-0000000000aa', 'seed')`,
}

var recordedCases = []recorded{
	// isolation.json
	{"isolation.json:set_transaction_serializable", []string{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"},
		[]want{fails("0A000", "Unsupported isolation level: SERIALIZABLE")}, false},
	{"isolation.json:begin_serializable", []string{"BEGIN ISOLATION LEVEL SERIALIZABLE"},
		[]want{fails("0A000", "Unsupported isolation level: SERIALIZABLE")}, false},
	{"isolation.json:begin_repeatable_read", []string{"BEGIN ISOLATION LEVEL REPEATABLE READ", "SELECT 1", "COMMIT"},
		[]want{ok("BEGIN"), ok("SELECT 1", []string{"1"}), ok("COMMIT")}, false},
	{"isolation.json:set_transaction_repeatable_read", []string{"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"},
		[]want{fails("0A000", `setting configuration parameter "TRANSACTION" not supported`)}, false},
	{"isolation.json:set_default_isolation", []string{"SET default_transaction_isolation = 'repeatable read'"},
		[]want{fails("0A000", `setting configuration parameter "default_transaction_isolation" not supported`)}, false},

	// transaction.json
	{"transaction.json:savepoint", []string{"SAVEPOINT baseline_sp"},
		[]want{fails("0A000", "unsupported transaction statement: SAVEPOINT")}, false},
	{"transaction.json:two_ddl_one_txn", []string{"BEGIN", "CREATE TABLE baseline_txn_a (id int)", "CREATE TABLE baseline_txn_b (id int)"},
		[]want{ok("BEGIN"), ok("CREATE TABLE"), fails("0A000", "multiple ddl statements not supported in a transaction")}, false},
	{"transaction.json:ddl_then_dml", []string{"BEGIN", "CREATE TABLE baseline_txn_c (id int)", "INSERT INTO baseline_txn_c (id) VALUES (1)"},
		[]want{ok("BEGIN"), ok("CREATE TABLE"), fails("0A000", "ddl and dml are not supported in the same transaction")}, false},
	{"transaction.json:row_cap", []string{"BEGIN", "INSERT INTO baseline_bulk SELECT generate_series(1, 3001)", "SELECT 1"},
		[]want{ok("BEGIN"), fails("54000", "transaction row limit exceeded"), errAborted}, false},
	{"transaction.json:commit", []string{"BEGIN", "INSERT INTO baseline_parent (id, name) VALUES ('00000000-0000-0000-0000-0000000000bb', 'tx')", "COMMIT"},
		[]want{ok("BEGIN"), ok("INSERT 0 1"), ok("COMMIT")}, false},
	{"transaction.json:rollback", []string{"BEGIN", "INSERT INTO baseline_parent (id, name) VALUES ('00000000-0000-0000-0000-0000000000cc', 'tx')", "ROLLBACK", "SELECT count(*) FROM baseline_parent WHERE name = 'tx'"},
		[]want{ok("BEGIN"), ok("INSERT 0 1"), ok("ROLLBACK"), ok("SELECT 1", []string{"1"})}, false},
	{"transaction.json:read_only", []string{"BEGIN", "SET TRANSACTION READ ONLY", "SELECT 1", "COMMIT"},
		[]want{ok("BEGIN"), fails("0A000", `setting configuration parameter "TRANSACTION" not supported`), errAborted, ok("ROLLBACK")}, false},
	{"transaction.json:rejection_aborts_txn", []string{"BEGIN", "TRUNCATE baseline_parent", "SELECT 1", "ROLLBACK"},
		[]want{ok("BEGIN"), fails("0A000", "unsupported statement: Truncate"), errAborted, ok("ROLLBACK")}, false},
	{"transaction.json:aborted_txn_prefers_25P02", []string{"BEGIN", "TRUNCATE baseline_parent", "TRUNCATE baseline_parent", "ROLLBACK"},
		[]want{ok("BEGIN"), fails("0A000", "unsupported statement: Truncate"), errAborted, ok("ROLLBACK")}, false},
	{"transaction.json:aborted_txn_recovers_after_rollback", []string{"BEGIN", "SET TRANSACTION READ ONLY", "ROLLBACK", "SELECT 1"},
		[]want{ok("BEGIN"), fails("0A000", `setting configuration parameter "TRANSACTION" not supported`), ok("ROLLBACK"), ok("SELECT 1", []string{"1"})}, false},
	{"transaction.json:rejection_outside_txn_does_not_abort", []string{"TRUNCATE baseline_parent", "SELECT 1"},
		[]want{fails("0A000", "unsupported statement: Truncate"), ok("SELECT 1", []string{"1"})}, false},
	{"transaction.json:row_cap_boundary", []string{"BEGIN", "INSERT INTO baseline_bulk SELECT generate_series(1, 3000)", "SELECT 1", "ROLLBACK"},
		[]want{ok("BEGIN"), ok("INSERT 0 3000"), ok("SELECT 1", []string{"1"}), ok("ROLLBACK")}, false},
	{"transaction.json:row_cap_discards_rows", []string{"BEGIN", "INSERT INTO baseline_bulk SELECT generate_series(1, 3001)", "ROLLBACK", "SELECT count(*) FROM baseline_bulk"},
		[]want{ok("BEGIN"), fails("54000", "transaction row limit exceeded"), ok("ROLLBACK"), ok("SELECT 1", []string{"0"})}, false},
	{"transaction.json:row_cap_implicit", []string{"INSERT INTO baseline_implicit_bulk SELECT generate_series(1, 3001)"},
		[]want{fails("54000", "transaction row limit exceeded")}, false},
	{"transaction.json:rollback_to_savepoint", []string{"ROLLBACK TO SAVEPOINT baseline_sp"},
		[]want{fails("0A000", "unsupported transaction statement: ROLLBACK TO")}, false},

	// unsupported.json
	{"unsupported.json:truncate", []string{"TRUNCATE TABLE baseline_parent"}, []want{fails("0A000", "unsupported statement: Truncate")}, false},
	{"unsupported.json:create_extension", []string{"CREATE EXTENSION IF NOT EXISTS pgcrypto"}, []want{fails("0A000", "unsupported statement: CreateExtension")}, false},
	{"unsupported.json:create_trigger", []string{"CREATE TRIGGER baseline_trg AFTER INSERT ON baseline_parent EXECUTE FUNCTION baseline_fn()"}, []want{fails("0A000", "CREATE TRIGGER not supported")}, false},
	{"unsupported.json:create_database", []string{"CREATE DATABASE baseline_other"}, []want{fails("0A000", "unsupported statement: Createdb")}, false},
	{"unsupported.json:temporary_table", []string{"CREATE TEMPORARY TABLE baseline_temp (id int)"}, []want{fails("0A000", "TEMPORARY or TEMP table not supported for CREATE TABLE")}, false},
	{"unsupported.json:unlogged_table", []string{"CREATE UNLOGGED TABLE baseline_unlogged (id int)"}, []want{fails("0A000", "UNLOGGED table not supported for CREATE TABLE")}, false},
	{"unsupported.json:serial_column", []string{"CREATE TABLE baseline_serial (id serial PRIMARY KEY)"}, []want{fails("42704", `type "serial" does not exist`)}, false},
	{"unsupported.json:materialized_view", []string{"CREATE MATERIALIZED VIEW baseline_mv AS SELECT 1 AS x"}, []want{fails("0A000", "unsupported statement: CreateTableAs")}, false},
	{"unsupported.json:create_table_as", []string{"CREATE TABLE baseline_ctas AS SELECT 1 AS x"}, []want{fails("0A000", "unsupported statement: CreateTableAs")}, false},
	{"unsupported.json:enum_type", []string{"CREATE TYPE baseline_mood AS ENUM ('sad', 'ok')"}, []want{fails("0A000", "CREATE TYPE not supported")}, false},
	{"unsupported.json:composite_type", []string{"CREATE TYPE baseline_pair AS (a int, b int)"}, []want{fails("0A000", "unsupported statement: CompositeType")}, false},
	{"unsupported.json:range_type", []string{"CREATE TYPE baseline_range AS RANGE (subtype = int4)"}, []want{fails("0A000", "unsupported statement: CreateRange")}, false},
	{"unsupported.json:domain_type", []string{"CREATE DOMAIN baseline_domain AS int"}, []want{ok("CREATE DOMAIN")}, false},
	{"unsupported.json:tablespace", []string{"CREATE TABLESPACE baseline_ts LOCATION '/tmp/baseline'"}, []want{fails("0A000", "unsupported statement: CreateTableSpace")}, false},
	{"unsupported.json:foreign_table", []string{"CREATE FOREIGN TABLE baseline_ft (id int) SERVER baseline_srv"}, []want{fails("0A000", "unsupported statement: CreateForeignTable")}, false},
	{"unsupported.json:vacuum", []string{"VACUUM baseline_parent"}, []want{fails("0A000", "unsupported VACUUM statement")}, false},
	{"unsupported.json:listen", []string{"LISTEN baseline_chan"}, []want{fails("0A000", "unsupported statement: Listen")}, false},
	{"unsupported.json:notify", []string{"NOTIFY baseline_chan"}, []want{fails("0A000", "unsupported statement: Notify")}, false},
	{"unsupported.json:unlisten", []string{"UNLISTEN baseline_chan"}, []want{fails("0A000", "unsupported statement: Unlisten")}, false},
	{"unsupported.json:alter_system", []string{"ALTER SYSTEM SET work_mem = '4MB'"}, []want{fails("0A000", "unsupported statement: AlterSystem")}, false},
	{"unsupported.json:create_function", []string{"CREATE FUNCTION baseline_fn() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$"}, []want{ok("CREATE FUNCTION")}, false},
	{"unsupported.json:create_function_plpgsql", []string{"CREATE FUNCTION baseline_plpgsql() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$"},
		[]want{fails("0A000", "CREATE FUNCTION with language plpgsql not supported")}, false},

	// occ.json
	{"occ.json:occ_for_update", []string{"SELECT id::text FROM baseline_parent WHERE id = '00000000-0000-0000-0000-0000000000aa' FOR UPDATE"},
		[]want{ok("SELECT 1", []string{"00000000-0000-0000-0000-0000000000aa"})}, false},
	{"occ.json:occ_for_key_share", []string{"SELECT id::text FROM baseline_parent WHERE id = '00000000-0000-0000-0000-0000000000aa' FOR KEY SHARE"},
		[]want{ok("SELECT 1", []string{"00000000-0000-0000-0000-0000000000aa"})}, false},
	{"occ.json:occ_for_no_key_update", []string{"SELECT id FROM baseline_parent WHERE id = '00000000-0000-0000-0000-0000000000aa' FOR NO KEY UPDATE"},
		[]want{fails("0A000", "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported")}, false},
	{"occ.json:occ_for_share", []string{"SELECT id FROM baseline_parent WHERE id = '00000000-0000-0000-0000-0000000000aa' FOR SHARE"},
		[]want{fails("0A000", "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported")}, false},

	// index.json
	{"index.json:create_index_sync", []string{"CREATE INDEX baseline_idx_value ON baseline_idx (value)"},
		[]want{fails("0A000", "unsupported mode. please use CREATE INDEX ASYNC.")}, false},
	{"index.json:create_index_async", []string{"CREATE INDEX ASYNC IF NOT EXISTS baseline_idx_value_async ON baseline_idx (value)"}, []want{job()}, false},
	{"index.json:create_index_async_partial", []string{"CREATE INDEX ASYNC baseline_partial_idx ON baseline_idx (value) WHERE value IS NOT NULL"}, []want{job()}, false},
	{"index.json:create_index_async_unique_partial", []string{"CREATE UNIQUE INDEX ASYNC baseline_upartial_idx ON baseline_idx (value) WHERE value <> ''"}, []want{job()}, false},
	{"index.json:create_index_async_expression", []string{"CREATE INDEX ASYNC baseline_expr_idx ON baseline_idx ((lower(value)))"}, []want{job()}, false},
	{"index.json:create_index_async_include", []string{"CREATE INDEX ASYNC baseline_include_idx ON baseline_idx (value) INCLUDE (id)"}, []want{job()}, false},
	{"index.json:create_index_async_nulls_not_distinct", []string{"CREATE UNIQUE INDEX ASYNC baseline_nnd_idx ON baseline_idx (value) NULLS NOT DISTINCT"}, []want{job()}, false},
	{"index.json:create_index_async_unnamed", []string{"CREATE INDEX ASYNC ON baseline_idx (value)"}, []want{job()}, false},
	{"index.json:create_index_async_qualified", []string{"CREATE INDEX ASYNC public.baseline_qualified_idx ON baseline_idx (value)"},
		[]want{fails("42601", `syntax error at or near "."`)}, false},
	{"index.json:sys_wait_for_job", []string{"SELECT sys.wait_for_job((SELECT job_id FROM sys.jobs LIMIT 1))"},
		[]want{fails("42809", "sys.wait_for_job(text) is a procedure")}, false},
	{"index.json:sys_call_wait_for_job", []string{"CALL sys.wait_for_job((SELECT job_id FROM sys.jobs LIMIT 1))"},
		[]want{fails("0A000", "cannot use subquery in CALL argument")}, false},
	{"index.json:sys_call_wait_for_job_literal", []string{"CALL sys.wait_for_job('no-such-job')"},
		[]want{fails("22P02", "Unable to convert text to UUID")}, false},
	{"index.json:sys_jobs_columns", []string{"SELECT * FROM sys.jobs LIMIT 1"},
		[]want{{tag: "SELECT 1", cols: []string{"job_id", "status", "details", "job_type", "class_id", "object_id", "object_name", "start_time", "update_time"}}}, false},

	// multi_statement.json: one simple query, answered once per statement.
	{"multi_statement.json:multi_two_selects", []string{"SELECT 1 AS a; SELECT 2 AS b"},
		[]want{{tag: "SELECT 1", cols: []string{"a"}, rows: [][]string{{"1"}}}, {tag: "SELECT 1", cols: []string{"b"}, rows: [][]string{{"2"}}}}, true},
	{"multi_statement.json:multi_two_ddl", []string{"CREATE TABLE baseline_multi_a (id int); CREATE TABLE baseline_multi_b (id int)"},
		[]want{fails("0A000", "multiple ddl statements not supported in a transaction")}, true},
	{"multi_statement.json:multi_ddl_then_dml", []string{"CREATE TABLE baseline_multi_c (id int); INSERT INTO baseline_multi_c (id) VALUES (1)"},
		[]want{fails("0A000", "ddl and dml are not supported in the same transaction")}, true},
	{"multi_statement.json:multi_ddl_then_async_index", []string{"CREATE TABLE baseline_multi_d (id int); CREATE INDEX ASYNC baseline_multi_d_idx ON baseline_multi_d (id)"},
		[]want{fails("0A000", "multiple ddl statements not supported in a transaction")}, true},
	{"multi_statement.json:multi_async_index_in_txn", []string{"BEGIN; CREATE INDEX ASYNC baseline_multi_idx ON baseline_multi (a); COMMIT"},
		[]want{ok("BEGIN"), job(), ok("COMMIT")}, true},
	{"multi_statement.json:multi_dml_in_txn", []string{"BEGIN; INSERT INTO baseline_multi (id, a) VALUES (1, 1); COMMIT"},
		[]want{ok("BEGIN"), ok("INSERT 0 1"), ok("COMMIT")}, true},
}

func TestRecordedAnswers(t *testing.T) {
	for _, protocol := range []string{"simple", "extended"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			d := dsqldouble.New(t, dsqldouble.Options{})
			setup := connect(t, d)
			mustExec(t, setup, recordedSetup...)
			pc := connect(t, d).PgConn()
			for _, rc := range recordedCases {
				if rc.multi && protocol == "extended" {
					continue
				}
				t.Run(rc.name, func(t *testing.T) {
					defer func() {
						if _, err := pc.Exec(ctx(t), "ROLLBACK").ReadAll(); err != nil {
							t.Fatalf("ending the case: %v", err)
						}
					}()
					if rc.multi {
						got := runMulti(t, pc, rc.steps[0])
						check(t, rc.steps[0], got, rc.want)
						return
					}
					for i, step := range rc.steps {
						got := runStep(t, pc, step, protocol == "extended")
						check(t, step, []observed{got}, rc.want[i:i+1])
					}
				})
			}
		})
	}
}

// observed is what a step answered.
type observed struct {
	tag  string
	cols []string
	rows [][]string
	err  error
}

func fromResult(r *pgconn.Result) observed {
	o := observed{tag: r.CommandTag.String(), err: r.Err}
	for _, f := range r.FieldDescriptions {
		o.cols = append(o.cols, f.Name)
	}
	for _, row := range r.Rows {
		var vals []string
		for _, v := range row {
			vals = append(vals, string(v))
		}
		o.rows = append(o.rows, vals)
	}
	return o
}

func runStep(t *testing.T, pc *pgconn.PgConn, sql string, extended bool) observed {
	t.Helper()
	if extended {
		return fromResult(pc.ExecParams(ctx(t), sql, nil, nil, nil, nil).Read())
	}
	results, err := pc.Exec(ctx(t), sql).ReadAll()
	if err != nil {
		return observed{err: err}
	}
	if len(results) != 1 {
		t.Fatalf("%s: %d results", sql, len(results))
	}
	return fromResult(results[0])
}

func runMulti(t *testing.T, pc *pgconn.PgConn, sql string) []observed {
	t.Helper()
	results, err := pc.Exec(ctx(t), sql).ReadAll()
	if err != nil {
		return []observed{{err: err}}
	}
	var out []observed
	for _, r := range results {
		out = append(out, fromResult(r))
	}
	return out
}

func check(t *testing.T, step string, got []observed, want []want) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d answers %+v, want %d", step, len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if w.code != "" {
			var e *pgconn.PgError
			if !errors.As(g.err, &e) {
				t.Fatalf("%s: answered %+v, want error %s %q", step, g, w.code, w.msg)
			}
			if e.Code != w.code || e.Message != w.msg {
				t.Fatalf("%s: error %s %q, want %s %q", step, e.Code, e.Message, w.code, w.msg)
			}
			continue
		}
		if g.err != nil {
			t.Fatalf("%s: error %v, want %s", step, g.err, w.tag)
		}
		if g.tag != w.tag {
			t.Fatalf("%s: tag %q, want %q", step, g.tag, w.tag)
		}
		if w.cols != nil && !slices.Equal(g.cols, w.cols) {
			t.Fatalf("%s: columns %v, want %v", step, g.cols, w.cols)
		}
		if w.jobID {
			if len(g.rows) != 1 || len(g.rows[0]) != 1 || !jobIDForm.MatchString(g.rows[0][0]) {
				t.Fatalf("%s: rows %v, want one job id of the recorded form", step, g.rows)
			}
			continue
		}
		if w.rows != nil && fmt.Sprint(g.rows) != fmt.Sprint(w.rows) {
			t.Fatalf("%s: rows %v, want %v", step, g.rows, w.rows)
		}
	}
}
