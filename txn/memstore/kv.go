// Package memstore is hotrow's embedded store, the default for development:
// no set-up, in memory, one process. It is not a mock: transactions read a
// snapshot, buffer their writes, and at commit a write-write conflict with a
// transaction that committed after the snapshot fails with a retryable
// txn.ConflictError (first committer wins), as on Aurora DSQL. So the retry
// loop runs for real without a database.
package memstore

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"hotrow/internal/clock"
	"hotrow/txn"
)

type version struct {
	seq uint64
	val any // nil means deleted
}

// KV is a multi-version key-value store with snapshot isolation. Values are
// stored as given and must not be modified after Put (store values, not
// pointers into shared data).
type KV struct {
	mu      sync.Mutex
	seq     uint64
	data    map[string][]version // oldest first
	active  map[uint64]int       // open snapshots
	failer  func() error         // injected commit failure, for tests
	loseAck func() error         // injected lost acknowledgement, for tests
	Clock   clock.Clock
}

// NewKV makes an empty store.
func NewKV(c clock.Clock) *KV {
	if c == nil {
		c = clock.Real{}
	}
	return &KV{data: map[string][]version{}, active: map[uint64]int{}, Clock: c}
}

// FailCommits makes every commit call f first; a non-nil error from it fails
// the commit with nothing written. Tests use it to inject failures.
func (db *KV) FailCommits(f func() error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.failer = f
}

// LoseCommitAcks makes every commit that applies call f afterwards; a
// non-nil error from it is returned as txn.CommitUnknownError although the
// writes are in, as when a connection drops during COMMIT.
func (db *KV) LoseCommitAcks(f func() error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.loseAck = f
}

// KVTx is one transaction on a KV.
type KVTx struct {
	db     *KV
	snap   uint64
	writes map[string]any
	done   bool
}

// Begin opens a transaction reading the snapshot of the last commit.
func (db *KV) Begin() *KVTx {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.active[db.seq]++
	return &KVTx{db: db, snap: db.seq, writes: map[string]any{}}
}

func (db *KV) visible(key string, snap uint64) (any, bool) {
	vs := db.data[key]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].seq <= snap {
			return vs[i].val, vs[i].val != nil
		}
	}
	return nil, false
}

// Get reads key as of the snapshot, seeing this transaction's own writes.
func (tx *KVTx) Get(key string) (any, bool) {
	if v, ok := tx.writes[key]; ok {
		return v, v != nil
	}
	tx.db.mu.Lock()
	defer tx.db.mu.Unlock()
	return tx.db.visible(key, tx.snap)
}

// Put writes key at commit.
func (tx *KVTx) Put(key string, val any) { tx.writes[key] = val }

// Delete removes key at commit.
func (tx *KVTx) Delete(key string) { tx.writes[key] = nil }

// Entry is one key and value from Scan.
type Entry struct {
	Key string
	Val any
}

// Scan returns the entries whose key starts with prefix, in key order.
func (tx *KVTx) Scan(prefix string) []Entry {
	tx.db.mu.Lock()
	seen := map[string]any{}
	for k := range tx.db.data {
		if strings.HasPrefix(k, prefix) {
			if v, ok := tx.db.visible(k, tx.snap); ok {
				seen[k] = v
			}
		}
	}
	tx.db.mu.Unlock()
	for k, v := range tx.writes {
		if strings.HasPrefix(k, prefix) {
			if v == nil {
				delete(seen, k)
			} else {
				seen[k] = v
			}
		}
	}
	out := make([]Entry, 0, len(seen))
	for k, v := range seen {
		out = append(out, Entry{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Commit applies the writes, or fails with a txn.ConflictError when another
// transaction committed a write to one of the same keys after this
// transaction's snapshot. Either way the transaction is over.
func (tx *KVTx) Commit() error {
	if tx.done {
		return fmt.Errorf("memstore: transaction already finished")
	}
	db := tx.db
	db.mu.Lock()
	defer db.mu.Unlock()
	defer tx.finishLocked()
	if db.failer != nil {
		if err := db.failer(); err != nil {
			return err
		}
	}
	for k := range tx.writes {
		if vs := db.data[k]; len(vs) > 0 && vs[len(vs)-1].seq > tx.snap {
			return &txn.ConflictError{Detail: fmt.Sprintf("write-write conflict on %q", k)}
		}
	}
	if len(tx.writes) == 0 {
		return nil
	}
	db.seq++
	oldest := db.oldestSnapshotLocked()
	for k, v := range tx.writes {
		db.data[k] = prune(append(db.data[k], version{seq: db.seq, val: v}), oldest)
		if len(db.data[k]) == 1 && db.data[k][0].val == nil {
			delete(db.data, k)
		}
	}
	if db.loseAck != nil {
		if err := db.loseAck(); err != nil {
			return txn.CommitUnknownError{Err: err}
		}
	}
	return nil
}

// Rollback ends the transaction without writing.
func (tx *KVTx) Rollback() {
	if tx.done {
		return
	}
	tx.db.mu.Lock()
	defer tx.db.mu.Unlock()
	tx.finishLocked()
}

func (tx *KVTx) finishLocked() {
	tx.done = true
	db := tx.db
	if db.active[tx.snap]--; db.active[tx.snap] <= 0 {
		delete(db.active, tx.snap)
	}
}

func (db *KV) oldestSnapshotLocked() uint64 {
	oldest := db.seq
	for s := range db.active {
		if s < oldest {
			oldest = s
		}
	}
	return oldest
}

// prune drops versions no open snapshot can see: everything older than the
// newest version at or before the oldest snapshot.
func prune(vs []version, oldest uint64) []version {
	keep := 0
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].seq <= oldest {
			keep = i
			break
		}
	}
	return vs[keep:]
}
