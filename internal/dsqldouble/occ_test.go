package dsqldouble_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotrow/internal/dsqldouble"
)

// Two transactions write one row. On DSQL neither write waits or fails;
// the first COMMIT wins and the second fails with 40001 OC000 (golden
// occ_conflict.json:occ_write_write: UPDATE 1, UPDATE 1, then the loser's
// COMMIT "change conflicts with another transaction (OC000)").
func TestConflictSurfacesAtCommit(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	setup := connect(t, d)
	mustExec(t, setup, `CREATE TABLE c (id int PRIMARY KEY, name text NOT NULL)`,
		`INSERT INTO c VALUES (1, 'seed'), (2, 'other')`)
	a, b := connect(t, d), connect(t, d)
	ta, err := a.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	// Both read first, so both snapshots predate either write.
	var name string
	for _, tx := range []pgx.Tx{ta, tb} {
		if err := tx.QueryRow(ctx(t), `SELECT name FROM c WHERE id = 1`).Scan(&name); err != nil {
			t.Fatal(err)
		}
	}
	tag, err := ta.Exec(ctx(t), `UPDATE c SET name = 'a' WHERE id = $1`, 1)
	if err != nil || tag.String() != "UPDATE 1" {
		t.Fatalf("a's write: %v %v", tag, err)
	}
	if err := ta.Commit(ctx(t)); err != nil {
		t.Fatalf("a commits first: %v", err)
	}
	// b's write conflicts with a's committed one: PostgreSQL refuses it at
	// once; DSQL runs it on b's snapshot and fails the COMMIT.
	tag, err = tb.Exec(ctx(t), `UPDATE c SET name = 'b' WHERE id = $1`, 1)
	if err != nil || tag.String() != "UPDATE 1" {
		t.Fatalf("b's write: %q %v, want UPDATE 1 and no error", tag, err)
	}
	err = tb.Commit(ctx(t))
	wantErr(t, "b's commit", err, "40001", "change conflicts with another transaction (OC000)")
	if err := setup.QueryRow(ctx(t), `SELECT name FROM c WHERE id = 1`).Scan(&name); err != nil || name != "a" {
		t.Fatalf("row 1 = %q (%v), want a's write only", name, err)
	}
}

// begin starts a transaction and reads so its snapshot is taken now.
func begin(t *testing.T, c *pgx.Conn) pgx.Tx {
	t.Helper()
	tx, err := c.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx(t), `SELECT count(*) FROM c`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return tx
}

func conflictTable(t *testing.T, d *dsqldouble.Double) *pgx.Conn {
	setup := connect(t, d)
	mustExec(t, setup, `CREATE TABLE c (id int PRIMARY KEY, name text NOT NULL)`,
		`INSERT INTO c VALUES (1, 'seed'), (2, 'other')`)
	return setup
}

func name(t *testing.T, c *pgx.Conn, id int) string {
	t.Helper()
	var n string
	if err := c.QueryRow(ctx(t), `SELECT name FROM c WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two open transactions write one row at the same time. PostgreSQL makes
// the second writer wait for the first; the double lets it wait (DSQL
// would not) but answers the write, once the first has ended, as DSQL
// does: UPDATE 1, and the COMMIT decides. When the first commits, the
// second's COMMIT fails with OC000; when the first rolls back, the second
// commits.
func TestConcurrentWritersFirstCommitterWins(t *testing.T) {
	for _, firstCommits := range []bool{true, false} {
		t.Run(fmt.Sprintf("first commits %v", firstCommits), func(t *testing.T) {
			d := dsqldouble.New(t, dsqldouble.Options{})
			setup := conflictTable(t, d)
			ta, tb := begin(t, connect(t, d)), begin(t, connect(t, d))
			if _, err := ta.Exec(ctx(t), `UPDATE c SET name = 'a' WHERE id = 1`); err != nil {
				t.Fatal(err)
			}
			type answer struct {
				tag string
				err error
			}
			bWrote := make(chan answer, 1)
			go func() {
				tag, err := tb.Exec(ctx(t), `UPDATE c SET name = 'b' WHERE id = 1`)
				bWrote <- answer{tag.String(), err}
			}()
			// b's write waits for a's row lock, and its answer only comes
			// once a has ended.
			waitForLockWaiters(t, d, 1)
			if firstCommits {
				if err := ta.Commit(ctx(t)); err != nil {
					t.Fatalf("a: %v", err)
				}
			} else if err := ta.Rollback(ctx(t)); err != nil {
				t.Fatal(err)
			}
			a := <-bWrote
			if a.err != nil || a.tag != "UPDATE 1" {
				t.Fatalf("b's write answered %q %v, want UPDATE 1", a.tag, a.err)
			}
			err := tb.Commit(ctx(t))
			if firstCommits {
				wantErr(t, "b's commit", err, "40001", "change conflicts with another transaction (OC000)")
				if got := name(t, setup, 1); got != "a" {
					t.Fatalf("row 1 = %q, want a", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("b's commit after a rolled back: %v", err)
			}
			if got := name(t, setup, 1); got != "b" {
				t.Fatalf("row 1 = %q, want b", got)
			}
		})
	}
}

// golden occ_conflict.json:occ_disjoint_writes: writes to different rows
// both commit.
func TestDisjointWritesBothCommit(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	setup := conflictTable(t, d)
	ta, tb := begin(t, connect(t, d)), begin(t, connect(t, d))
	if _, err := ta.Exec(ctx(t), `UPDATE c SET name = 'a' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Exec(ctx(t), `UPDATE c SET name = 'b' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if err := tb.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := ta.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if name(t, setup, 1) != "a" || name(t, setup, 2) != "b" {
		t.Fatal("a disjoint write was lost")
	}
}

// Two transactions insert one key. The later one's INSERT runs on its
// snapshot, where the key is free (INSERT 0 1), and its COMMIT fails with
// OC000. A key the transaction can see is a real duplicate: 23505 at the
// statement.
func TestConcurrentInsertSameKey(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	setup := conflictTable(t, d)
	ta, tb := begin(t, connect(t, d)), begin(t, connect(t, d))
	if _, err := ta.Exec(ctx(t), `INSERT INTO c (id, name) VALUES ($1, $2)`, 3, "a"); err != nil {
		t.Fatal(err)
	}
	if err := ta.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	tag, err := tb.Exec(ctx(t), `INSERT INTO c (id, name) VALUES ($1, $2)`, 3, "b")
	if err != nil || tag.String() != "INSERT 0 1" {
		t.Fatalf("b's insert: %q %v, want INSERT 0 1", tag, err)
	}
	wantErr(t, "b's commit", tb.Commit(ctx(t)), "40001", "change conflicts with another transaction (OC000)")

	_, err = setup.Exec(ctx(t), `INSERT INTO c (id, name) VALUES ($1, $2)`, 3, "again")
	if e := pgErr(t, err); e.Code != "23505" {
		t.Fatalf("a visible duplicate: %v, want 23505", err)
	}
	if got := name(t, setup, 3); got != "a" {
		t.Fatalf("row 3 = %q, want a", got)
	}
}

// An autocommit write that waited for a concurrent writer which then
// committed fails with OC000 (the implicit COMMIT's answer).
func TestAutocommitConflict(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	conflictTable(t, d)
	ta := begin(t, connect(t, d))
	if _, err := ta.Exec(ctx(t), `UPDATE c SET name = 'a' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	b := connect(t, d)
	done := make(chan error, 1)
	go func() {
		_, err := b.Exec(ctx(t), `UPDATE c SET name = 'b' WHERE id = $1`, 1)
		done <- err
	}()
	waitForLockWaiters(t, d, 1)
	if err := ta.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "autocommit write", <-done, "40001", "change conflicts with another transaction (OC000)")
}

// waitForLockWaiters returns once n sessions wait for a row lock upstream.
func waitForLockWaiters(t *testing.T, d *dsqldouble.Double, n int) {
	t.Helper()
	c := connect(t, d)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got int
		if err := c.QueryRow(ctx(t), `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions wait for a lock after 20s, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// SELECT ... FOR UPDATE takes part in the conflict check. One whose rows
// changed since its snapshot answers the rows of its snapshot, and its
// COMMIT fails.
func TestForUpdateOnAChangedRow(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	setup := conflictTable(t, d)
	tb := begin(t, connect(t, d))
	mustExec(t, setup, `UPDATE c SET name = 'changed' WHERE id = 1`)
	var got string
	if err := tb.QueryRow(ctx(t), `SELECT name FROM c WHERE id = $1 FOR UPDATE`, 1).Scan(&got); err != nil {
		t.Fatalf("FOR UPDATE: %v", err)
	}
	if got != "seed" {
		t.Fatalf("FOR UPDATE read %q, want the snapshot's seed", got)
	}
	wantErr(t, "commit", tb.Commit(ctx(t)), "40001", "change conflicts with another transaction (OC000)")
}

// Two transactions that lock each other's rows: PostgreSQL detects a
// deadlock and refuses one write; DSQL has no locks and fails one COMMIT.
// The double answers both writes and fails exactly one COMMIT.
func TestCrossedWritesFailOneCommit(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	setup := conflictTable(t, d)
	ta, tb := begin(t, connect(t, d)), begin(t, connect(t, d))
	if _, err := ta.Exec(ctx(t), `UPDATE c SET name = 'a' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Exec(ctx(t), `UPDATE c SET name = 'b' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	commit := func(tx pgx.Tx, id int) {
		tag, err := tx.Exec(ctx(t), `UPDATE c SET name = 'x' WHERE id = $1`, id)
		if err != nil || tag.String() != "UPDATE 1" {
			errs <- fmt.Errorf("write to %d: %q %v", id, tag, err)
			return
		}
		errs <- tx.Commit(ctx(t))
	}
	go commit(ta, 2)
	go commit(tb, 1)
	var failed int
	for range 2 {
		if err := <-errs; err != nil {
			wantErr(t, "a commit", err, "40001", "change conflicts with another transaction (OC000)")
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d commits failed, want exactly 1", failed)
	}
	if n1, n2 := name(t, setup, 1), name(t, setup, 2); n1 == n2 {
		t.Fatalf("rows 1 and 2 both %q: both transactions committed", n1)
	}
}
