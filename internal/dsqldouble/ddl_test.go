package dsqldouble_test

import (
	"testing"
	"time"

	"hotrow/internal/dsqldouble"
)

const oc001 = "schema has been updated by another transaction, please retry: (OC001)"

// A writing transaction that ran across another session's schema change
// fails its COMMIT with OC001 (user guide, "DDL and distributed
// transactions": session 1 alters a table, session 2's insert gets
// "schema has been updated by another transaction, please retry:
// (OC001)"); its retry commits.
func TestSchemaChangeFailsOpenWriters(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	setup := conflictTable(t, d)
	writer := begin(t, connect(t, d))
	if _, err := writer.Exec(ctx(t), `INSERT INTO c VALUES (3, 'w')`); err != nil {
		t.Fatal(err)
	}
	mustExec(t, setup, `CREATE TABLE other (id int PRIMARY KEY)`)
	wantErr(t, "commit across DDL", writer.Commit(ctx(t)), "40001", oc001)

	retry := begin(t, connect(t, d))
	if _, err := retry.Exec(ctx(t), `INSERT INTO c VALUES (3, 'w')`); err != nil {
		t.Fatal(err)
	}
	if err := retry.Commit(ctx(t)); err != nil {
		t.Fatalf("retry after the schema change: %v", err)
	}
	// A reader is not failed, and a DDL that IF NOT EXISTS skipped changes
	// nothing.
	reader := begin(t, connect(t, d))
	writer2 := begin(t, connect(t, d))
	if _, err := writer2.Exec(ctx(t), `UPDATE c SET name = 'x' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	mustExec(t, setup, `CREATE TABLE IF NOT EXISTS other (id int PRIMARY KEY)`)
	if err := writer2.Commit(ctx(t)); err != nil {
		t.Fatalf("a skipped DDL failed a writer: %v", err)
	}
	mustExec(t, setup, `CREATE TABLE third (id int PRIMARY KEY)`)
	if err := reader.Commit(ctx(t)); err != nil {
		t.Fatalf("a reader across DDL: %v", err)
	}
}

// For a while after a schema change (Options.SchemaSettle) even writers
// that began after it get OC001; later ones commit.
func TestSchemaSettle(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{SchemaSettle: time.Hour})
	setup := conflictTable(t, d)
	mustExec(t, setup, `CREATE TABLE other (id int PRIMARY KEY)`)
	c := connect(t, d)
	_, err := c.Exec(ctx(t), `INSERT INTO c VALUES ($1, $2)`, 4, "x")
	wantErr(t, "write within the settle time", err, "40001", oc001)

	d2 := dsqldouble.New(t, dsqldouble.Options{SchemaSettle: time.Nanosecond})
	setup2 := conflictTable(t, d2)
	mustExec(t, setup2, `CREATE TABLE other (id int PRIMARY KEY)`)
	time.Sleep(time.Millisecond)
	if _, err := connect(t, d2).Exec(ctx(t), `INSERT INTO c VALUES ($1, $2)`, 4, "x"); err != nil {
		t.Fatalf("write after the settle time: %v", err)
	}
}

// Two sessions create one table at once. PostgreSQL makes the second wait
// and then refuses it on its catalog; the double answers it CREATE TABLE
// and fails its COMMIT with OC001, and its retry (IF NOT EXISTS) commits.
func TestConcurrentCreateTable(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	a, b := connect(t, d), connect(t, d)
	ta, err := a.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	const create = `CREATE TABLE IF NOT EXISTS racing (id int PRIMARY KEY)`
	if _, err := ta.Exec(ctx(t), create); err != nil {
		t.Fatal(err)
	}
	tb, err := b.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		tag string
		err error
	}
	bCreated := make(chan answer, 1)
	go func() {
		tag, err := tb.Exec(ctx(t), create)
		bCreated <- answer{tag.String(), err}
	}()
	waitForLockWaiters(t, d, 1)
	if err := ta.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	ans := <-bCreated
	if ans.err != nil || ans.tag != "CREATE TABLE" {
		t.Fatalf("b's create: %q %v, want CREATE TABLE", ans.tag, ans.err)
	}
	wantErr(t, "b's commit", tb.Commit(ctx(t)), "40001", oc001)
	mustExec(t, b, create) // the retry
	mustExec(t, a, `INSERT INTO racing VALUES (1)`)
}
