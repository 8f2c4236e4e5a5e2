package dsqldouble_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hotrow/internal/dsqldouble"
)

// Transactions sent as extended-protocol pipelines, as hotrow's store sends
// a bid: BEGIN with the reads in one (one Sync), the writes with COMMIT in
// another. No recording shows what a real cluster answers to a pipeline
// (the recordings have a multi-statement simple query, BEGIN; INSERT ...;
// COMMIT, answered statement by statement); these tests show that the
// double answers each statement of a pipeline as it answers the statement
// alone, which is what hotrow relies on: the snapshot is taken in the
// first pipeline and kept across its Sync, a conflict fails the COMMIT
// inside the second, an error skips the rest of it with the COMMIT, and a
// COMMIT whose answer is lost has committed.

// pipeline sends sqls as one pgx batch (one Sync) and returns each
// statement's command tag, or the error that stopped the pipeline and its
// position.
func pipeline(t *testing.T, c *pgx.Conn, sqls ...string) (tags []string, at int, err error) {
	t.Helper()
	b := &pgx.Batch{}
	for _, s := range sqls {
		b.Queue(s)
	}
	br := c.SendBatch(ctx(t), b)
	for i := range sqls {
		ct, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return tags, i, err
		}
		tags = append(tags, ct.String())
	}
	return tags, -1, br.Close()
}

// mustPipeline is pipeline that must succeed.
func mustPipeline(t *testing.T, c *pgx.Conn, sqls ...string) []string {
	t.Helper()
	tags, at, err := pipeline(t, c, sqls...)
	if err != nil {
		t.Fatalf("statement %d of %q: %v", at, sqls, err)
	}
	return tags
}

func txStatus(c *pgx.Conn) byte { return c.PgConn().TxStatus() }

// The first pipeline's BEGIN opens a transaction that outlives its Sync,
// with a snapshot taken there: a row another session commits afterwards
// is not seen by the second pipeline, which commits the first's writes.
func TestPipelinedTransactionKeepsItsSnapshot(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	setup := conflictTable(t, d)
	a := connect(t, d)
	tags := mustPipeline(t, a, `BEGIN`, `SELECT count(*) FROM c`)
	if tags[0] != "BEGIN" || txStatus(a) != 'T' {
		t.Fatalf("after the first pipeline: %q, status %c, want BEGIN and a transaction open", tags, txStatus(a))
	}
	mustExec(t, setup, `INSERT INTO c VALUES (3, 'later')`)
	var n int
	b := &pgx.Batch{}
	b.Queue(`SELECT count(*) FROM c`).QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
	b.Queue(`UPDATE c SET name = 'a' WHERE id = 1`)
	b.Queue(`COMMIT`)
	if err := a.SendBatch(ctx(t), b).Close(); err != nil {
		t.Fatal(err)
	}
	if n != 2 || txStatus(a) != 'I' {
		t.Fatalf("the second pipeline saw %d rows (want 2, the snapshot's), status %c", n, txStatus(a))
	}
	if name(t, setup, 1) != "a" || name(t, setup, 3) != "later" {
		t.Fatal("a write was lost")
	}
}

// Two pipelined transactions read one row and write it. The one that
// commits second has its writes answered as they ran on its snapshot
// (UPDATE 1, INSERT 0 1) and its COMMIT, in the same pipeline, fails with
// 40001 OC000, as a COMMIT alone does (golden
// occ_conflict.json:occ_write_write); the transaction is over and nothing
// of it was kept.
func TestPipelinedConflictFailsTheCommit(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	setup := conflictTable(t, d)
	a, b := connect(t, d), connect(t, d)
	for _, c := range []*pgx.Conn{a, b} {
		mustPipeline(t, c, `BEGIN`, `SELECT name FROM c WHERE id = 1`)
	}
	mustPipeline(t, a, `UPDATE c SET name = 'a' WHERE id = 1`, `COMMIT`)
	tags, at, err := pipeline(t, b, `UPDATE c SET name = 'b' WHERE id = 1`, `INSERT INTO c VALUES (4, 'b')`, `COMMIT`)
	if at != 2 || len(tags) != 2 || tags[0] != "UPDATE 1" || tags[1] != "INSERT 0 1" {
		t.Fatalf("b's writes answered %q, failing at %d (%v); want UPDATE 1, INSERT 0 1 and the COMMIT failing", tags, at, err)
	}
	wantErr(t, "b's commit", err, "40001", "change conflicts with another transaction (OC000)")
	if txStatus(b) != 'I' {
		t.Fatalf("after a failed COMMIT the session is in status %c, want I", txStatus(b))
	}
	var n int
	if err := setup.QueryRow(ctx(t), `SELECT count(*) FROM c WHERE id = 4`).Scan(&n); err != nil || n != 0 || name(t, setup, 1) != "a" {
		t.Fatalf("b's writes were kept (row 4: %d, row 1: %q)", n, name(t, setup, 1))
	}
	// The session goes on.
	mustPipeline(t, b, `BEGIN`, `SELECT 1`)
	mustPipeline(t, b, `UPDATE c SET name = 'b' WHERE id = 2`, `COMMIT`)
}

// A write that fails in the second pipeline (here 54000, the row limit,
// from the statement that crosses it: golden transaction.json:row_cap)
// skips the rest of the pipeline, the COMMIT with it: the transaction is
// left failed (status E) for the client's ROLLBACK, and nothing is kept.
func TestPipelinedFailureSkipsTheCommit(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{MaxRows: 3})
	setup := conflictTable(t, d)
	a := connect(t, d)
	mustPipeline(t, a, `BEGIN`, `SELECT count(*) FROM c`)
	tags, at, err := pipeline(t, a, `INSERT INTO c VALUES (10, 'x'), (11, 'x')`, `INSERT INTO c VALUES (12, 'x'), (13, 'x')`,
		`INSERT INTO c VALUES (14, 'x')`, `COMMIT`)
	if at != 1 || len(tags) != 1 {
		t.Fatalf("answered %q, failing at %d; want the second insert to fail", tags, at)
	}
	wantErr(t, "the insert past the limit", err, "54000", "transaction row limit exceeded")
	if txStatus(a) != 'E' {
		t.Fatalf("status %c after a failed write, want E: the COMMIT must not have run", txStatus(a))
	}
	mustExec(t, a, `ROLLBACK`)
	var n int
	if err := setup.QueryRow(ctx(t), `SELECT count(*) FROM c`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows after the failed transaction, want the 2 of before (%v)", n, err)
	}
}

// A COMMIT whose answer is lost (CutNextCommit) inside a pipeline has
// committed, and the client sees only a broken connection.
func TestPipelinedCommitLost(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	setup := conflictTable(t, d)
	a := connect(t, d)
	mustPipeline(t, a, `BEGIN`, `SELECT count(*) FROM c`)
	d.CutNextCommit()
	_, _, err := pipeline(t, a, `UPDATE c SET name = 'cut' WHERE id = 1`, `COMMIT`)
	var pgErr *pgconn.PgError
	if err == nil || errors.As(err, &pgErr) {
		t.Fatalf("a lost COMMIT answered %v, want a broken connection", err)
	}
	if !a.IsClosed() {
		t.Fatal("the connection is still open")
	}
	if got := name(t, setup, 1); got != "cut" {
		t.Fatalf("row 1 = %q, want the write the lost COMMIT committed", got)
	}
}
