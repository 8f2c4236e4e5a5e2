package dsqldouble_test

import (
	"testing"
	"time"

	"hotrow/internal/dsqldouble"
)

// Every answer to a Sync, Query or Flush waits the round trip's delay, and
// the double counts the round trips.
func TestRoundTripDelayAndCount(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	c := connect(t, d)
	mustExec(t, c, `CREATE TABLE t (id int PRIMARY KEY)`)
	var me *dsqldouble.SessionStats
	for _, s := range d.Sessions() {
		me = s // the last session is c's
	}
	// Prepare the statement once, then count a transaction of three round
	// trips: BEGIN, the insert (a cached statement: Bind/Execute/Sync),
	// COMMIT.
	if _, err := c.Exec(ctx(t), `INSERT INTO t VALUES ($1)`, 1); err != nil {
		t.Fatal(err)
	}
	const delay = 25 * time.Millisecond
	d.SetRoundTripDelay(delay)
	before, total := me.RoundTrips(), d.RoundTrips()
	start := time.Now()
	tx, err := c.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx(t), `INSERT INTO t VALUES ($1)`, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if got := me.RoundTrips() - before; got != 3 {
		t.Errorf("session counted %d round trips, want 3", got)
	}
	if got := d.RoundTrips() - total; got != 3 {
		t.Errorf("double counted %d round trips, want 3", got)
	}
	if took < 3*delay {
		t.Errorf("3 round trips took %v, less than 3 × %v", took, delay)
	}
	d.SetRoundTripDelay(0)
}
