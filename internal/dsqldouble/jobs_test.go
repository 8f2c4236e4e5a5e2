package dsqldouble_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"hotrow/internal/dsqldouble"
)

type jobRow struct {
	status, jobType string
	details, object *string
}

func readJob(t *testing.T, c *pgx.Conn, id string) (jobRow, bool) {
	t.Helper()
	var j jobRow
	err := c.QueryRow(ctx(t), `SELECT status, details, job_type, object_name FROM sys.jobs WHERE job_id = $1`, id).
		Scan(&j.status, &j.details, &j.jobType, &j.object)
	if err == pgx.ErrNoRows {
		return j, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return j, true
}

func createIndexAsync(t *testing.T, c *pgx.Conn, stmt string) string {
	t.Helper()
	var id string
	if err := c.QueryRow(ctx(t), stmt).Scan(&id); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	if !jobIDForm.MatchString(id) {
		t.Fatalf("%s: job id %q is not of the recorded form", stmt, id)
	}
	return id
}

// CREATE INDEX ASYNC answers a job id at once; the index is built after
// COMMIT; CALL sys.wait_for_job waits for it (with the id inlined or as a
// parameter); sys.jobs then says how it went (golden
// index.json:create_index_async, sys_jobs_columns).
func TestIndexJob(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	c := connect(t, d)
	mustExec(t, c, `CREATE TABLE t (id int PRIMARY KEY, v text)`, `INSERT INTO t VALUES (1, 'a'), (2, 'a'), (3, 'b')`)

	id := createIndexAsync(t, c, `CREATE INDEX ASYNC IF NOT EXISTS t_v ON t (v)`)
	mustExec(t, c, "CALL sys.wait_for_job('"+id+"')")
	j, found := readJob(t, c, id)
	if !found || j.status != "completed" || j.details != nil || j.jobType != "INDEX_BUILD" || j.object == nil || *j.object != "public.t_v" {
		t.Fatalf("job %s: %+v (found %v), want a completed INDEX_BUILD of public.t_v", id, j, found)
	}
	var n int
	if err := c.QueryRow(ctx(t), `SELECT count(*) FROM pg_indexes WHERE indexname = 't_v'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("index t_v: %d (%v)", n, err)
	}

	// Again, IF NOT EXISTS: a job that builds nothing.
	id = createIndexAsync(t, c, `CREATE INDEX ASYNC IF NOT EXISTS t_v ON t (v)`)
	if _, err := c.Exec(ctx(t), `CALL sys.wait_for_job($1)`, id); err != nil {
		t.Fatalf("CALL with a parameter: %v", err)
	}
	if j, _ := readJob(t, c, id); j.status != "completed" {
		t.Fatalf("job of an existing index: %+v", j)
	}
	// Without IF NOT EXISTS, an existing index is refused at once, and so
	// is a missing table.
	_, err := c.Exec(ctx(t), `CREATE INDEX ASYNC t_v ON t (v)`)
	wantErr(t, "existing index", err, "42P07", `relation "t_v" already exists`)
	_, err = c.Exec(ctx(t), `CREATE INDEX ASYNC nope_v ON nope (v)`)
	wantErr(t, "missing table", err, "42P01", `relation "nope" does not exist`)

	// A build that fails is recorded with the error in details.
	id = createIndexAsync(t, c, `CREATE UNIQUE INDEX ASYNC t_v_unique ON t (v)`)
	mustExec(t, c, "CALL sys.wait_for_job('"+id+"')")
	j, _ = readJob(t, c, id)
	if j.status != "failed" || j.details == nil || !strings.Contains(*j.details, "t_v_unique") {
		t.Fatalf("job of a unique index over duplicates: %+v", j)
	}

	// A job belongs to its transaction: none before COMMIT, none after
	// ROLLBACK, and waiting for it returns at once.
	tx, err := c.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var rolled string
	if err := tx.QueryRow(ctx(t), `CREATE INDEX ASYNC t_id_v ON t (id, v)`).Scan(&rolled); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx(t)); err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, "CALL sys.wait_for_job('"+rolled+"')")
	if _, found := readJob(t, c, rolled); found {
		t.Fatal("a rolled-back index has a job")
	}
}

// A cluster may record a completed job with an error in details (golden
// index.json:sys_jobs_columns, job ndp3e4d2nveylnpth2nbbxfjli); tests can
// make the double do so.
func TestIndexJobOutcome(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{IndexOutcome: func(index string) (string, string) {
		return "completed", `relation "public.t" does not exist`
	}})
	c := connect(t, d)
	mustExec(t, c, `CREATE TABLE t (id int PRIMARY KEY, v text)`)
	id := createIndexAsync(t, c, `CREATE INDEX ASYNC t_v ON t (v)`)
	mustExec(t, c, "CALL sys.wait_for_job('"+id+"')")
	if j, _ := readJob(t, c, id); j.status != "completed" || j.details == nil {
		t.Fatalf("job %+v, want completed with details", j)
	}
}
