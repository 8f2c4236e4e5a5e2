package dsqldouble

import (
	"sync"
	"time"
)

// cluster is what every session of one double shares: the order of
// commits, which tables each wrote, and when the schema last changed.
//
// Commits are numbered in the order PostgreSQL made them (the upstream
// COMMIT runs under mu). A transaction remembers the number current when it
// first touched the database, a lower bound of its snapshot: a commit with
// a higher number may be invisible to it. Both uses below err on the side of
// reporting a conflict, which only costs a retry.
type cluster struct {
	mu       sync.Mutex
	seq      int64
	tableSeq map[string]int64 // table -> number of the last commit that wrote it ("" = an unknown table)
	ddls     []ddlCommit      // the most recent schema changes, oldest first
}

type ddlCommit struct {
	seq     int64
	at      time.Time
	session int64
}

const keptDDLs = 256

func newCluster() *cluster { return &cluster{tableSeq: map[string]int64{}} }

// current is the number of the last commit.
func (c *cluster) current() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// tableWrittenSince reports whether a commit after since wrote table.
func (c *cluster) tableWrittenSince(table string, since int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tableSeq[table] > since || c.tableSeq[""] > since
}

// schemaChangedSince reports whether another session committed a schema
// change after since (a transaction that ran across it), or shortly before
// began (settle: a cluster keeps answering OC001 for a while after DDL).
func (c *cluster) schemaChangedSince(session, since int64, began time.Time, settle time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.ddls) - 1; i >= 0; i-- {
		d := c.ddls[i]
		if d.session == session {
			continue
		}
		if d.seq > since {
			return true
		}
		if settle > 0 && !d.at.After(began) && began.Sub(d.at) < settle {
			return true
		}
	}
	return false
}

// commit runs the upstream COMMIT (fn) while no other commit can, and on
// success numbers it and records what it wrote.
func (c *cluster) commit(session int64, tables map[string]bool, ddl bool, now func() time.Time, fn func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := fn(); err != nil {
		return err
	}
	if len(tables) == 0 && !ddl {
		return nil // read-only: nothing for others to conflict with
	}
	c.seq++
	for t := range tables {
		c.tableSeq[t] = c.seq
	}
	if ddl {
		c.ddls = append(c.ddls, ddlCommit{seq: c.seq, at: now(), session: session})
		if len(c.ddls) > keptDDLs {
			c.ddls = append([]ddlCommit(nil), c.ddls[len(c.ddls)-keptDDLs:]...)
		}
	}
	return nil
}
