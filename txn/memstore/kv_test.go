package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotrow/internal/clock"
	"hotrow/txn"
)

func get(t *testing.T, tx *KVTx, key string) any {
	t.Helper()
	v, _ := tx.Get(key)
	return v
}

func put(t *testing.T, db *KV, kv map[string]any) {
	t.Helper()
	tx := db.Begin()
	for k, v := range kv {
		tx.Put(k, v)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func activeSnapshots(db *KV) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	n := 0
	for _, c := range db.active {
		n += c
	}
	return n
}

func TestKVConcurrentIncrementsNoneLost(t *testing.T) {
	const n, k = 8, 50
	db := NewKV(nil)
	m := txn.NewMetrics(prometheus.NewRegistry())
	r := &txn.Runner{Clock: clock.Real{}, Metrics: m, Policy: txn.Policy{MaxAttempts: 10000}}

	// Every goroutine's first attempt reads the counter, then waits until all
	// of them have read it: n-1 of those attempts must then conflict at
	// commit, however fast the machine is.
	var read sync.WaitGroup
	read.Add(n)
	var wg sync.WaitGroup
	errs := make(chan error, n*k)
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			firstAttempt := true
			for i := 0; i < k; i++ {
				_, err := r.Run(context.Background(), "auction", "bid", func(ctx context.Context) error {
					tx := db.Begin()
					v, _ := tx.Get("counter")
					c, _ := v.(int)
					if firstAttempt {
						firstAttempt = false
						read.Done()
						read.Wait()
					}
					tx.Put("counter", c+1)
					tx.Put(fmt.Sprintf("own/%d/%d", g, i), true)
					return tx.Commit()
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("increment failed: %v", err)
	}
	tx := db.Begin()
	defer tx.Rollback()
	if got := get(t, tx, "counter"); got != n*k {
		t.Fatalf("counter = %v, want %d: increments were lost", got, n*k)
	}
	if got := len(tx.Scan("own/")); got != n*k {
		t.Fatalf("%d per-increment rows, want %d", got, n*k)
	}
	conflicts := testutil.ToFloat64(m.Conflicts.WithLabelValues("auction", "bid", txn.CodeSerialization))
	if conflicts < n-1 {
		t.Fatalf("conflicts = %v, want at least %d", conflicts, n-1)
	}
	attempts := testutil.ToFloat64(m.Attempts.WithLabelValues("auction", "bid"))
	committed := testutil.ToFloat64(m.Commits.WithLabelValues("auction", "bid", "committed"))
	if committed != n*k || attempts != committed+conflicts {
		t.Fatalf("attempts %v, committed %v, conflicts %v", attempts, committed, conflicts)
	}
	if got := testutil.ToFloat64(m.Commits.WithLabelValues("auction", "bid", "exhausted")); got != 0 {
		t.Fatalf("%v exhausted", got)
	}
	tx.Rollback()
	if a := activeSnapshots(db); a != 0 {
		t.Fatalf("%d snapshots still registered after every transaction ended", a)
	}
}

func TestKVSnapshotIsolation(t *testing.T) {
	db := NewKV(nil)
	put(t, db, map[string]any{"a": 1, "b": 1, "p/1": "x", "p/2": "y"})

	tx := db.Begin()
	if get(t, tx, "a") != 1 {
		t.Fatal("does not see a commit before its snapshot")
	}
	// Commits after the snapshot are invisible, whatever they do.
	put(t, db, map[string]any{"a": 2, "c": 3, "p/3": "z"})
	other := db.Begin()
	other.Delete("b")
	other.Delete("p/1")
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	if get(t, tx, "a") != 1 {
		t.Fatal("saw a value committed after its snapshot")
	}
	if _, ok := tx.Get("c"); ok {
		t.Fatal("saw a key created after its snapshot")
	}
	if get(t, tx, "b") != 1 {
		t.Fatal("saw a delete committed after its snapshot")
	}
	if got := tx.Scan("p/"); len(got) != 2 || got[0].Key != "p/1" || got[1].Key != "p/2" {
		t.Fatalf("scan of the snapshot: %v", got)
	}
	// Its own writes, deletes included, are visible to it at once.
	tx.Put("a", 10)
	tx.Put("p/0", "w")
	tx.Delete("p/2")
	if get(t, tx, "a") != 10 {
		t.Fatal("does not see its own write")
	}
	tx.Delete("a")
	if _, ok := tx.Get("a"); ok {
		t.Fatal("sees a key it deleted")
	}
	if got := tx.Scan("p/"); len(got) != 2 || got[0].Key != "p/0" || got[1].Key != "p/1" {
		t.Fatalf("scan with own writes: %v", got)
	}
	tx.Rollback()

	fresh := db.Begin()
	defer fresh.Rollback()
	if get(t, fresh, "a") != 2 || get(t, fresh, "c") != 3 {
		t.Fatal("a new transaction does not see the latest commits")
	}
	if _, ok := fresh.Get("b"); ok {
		t.Fatal("a deleted key is visible")
	}
	if got := fresh.Scan("p/"); len(got) != 2 || got[0].Key != "p/2" || got[1].Key != "p/3" {
		t.Fatalf("scan: %v", got)
	}
}

func TestKVWriteWriteConflict(t *testing.T) {
	for _, tc := range []struct {
		name   string
		winner func(tx *KVTx)
		loser  func(tx *KVTx)
	}{
		{"put/put", func(tx *KVTx) { tx.Put("k", 2) }, func(tx *KVTx) { tx.Put("k", 3) }},
		{"delete/put", func(tx *KVTx) { tx.Delete("k") }, func(tx *KVTx) { tx.Put("k", 3) }},
		{"put/delete", func(tx *KVTx) { tx.Put("k", 2) }, func(tx *KVTx) { tx.Delete("k") }},
		{"create/create", func(tx *KVTx) { tx.Put("new", 1) }, func(tx *KVTx) { tx.Put("new", 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := NewKV(nil)
			put(t, db, map[string]any{"k": 1})
			loser, winner := db.Begin(), db.Begin()
			tc.loser(loser)
			loser.Put("side", "effect") // must not be written either
			tc.winner(winner)
			if err := winner.Commit(); err != nil {
				t.Fatalf("first committer: %v", err)
			}
			err := loser.Commit()
			if err == nil {
				t.Fatal("second committer of the same key succeeded")
			}
			var ce *txn.ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a txn.ConflictError", err, err)
			}
			if v := txn.Classify(err); v.Class != txn.Retry || v.Code != txn.CodeSerialization {
				t.Fatalf("Classify = %+v, want retry 40001", v)
			}
			check := db.Begin()
			defer check.Rollback()
			if _, ok := check.Get("side"); ok {
				t.Fatal("a conflicting transaction wrote part of its changes")
			}
			if err := loser.Commit(); err == nil {
				t.Fatal("a finished transaction committed again")
			}
			// Retrying from a fresh snapshot succeeds.
			retry := db.Begin()
			tc.loser(retry)
			if err := retry.Commit(); err != nil {
				t.Fatalf("retry: %v", err)
			}
		})
	}
}

func TestKVDisjointKeysNeverConflict(t *testing.T) {
	db := NewKV(nil)
	put(t, db, map[string]any{"a": 0, "b": 0})
	// Reads do not conflict (snapshot isolation: only write-write does),
	// and neither do writes to different keys.
	t1, t2 := db.Begin(), db.Begin()
	_ = get(t, t1, "b")
	_ = get(t, t2, "a")
	t1.Put("a", 1)
	t2.Put("b", 1)
	if err := t1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := t2.Commit(); err != nil {
		t.Fatalf("disjoint write conflicted: %v", err)
	}
	// Read-only and empty transactions always commit.
	ro := db.Begin()
	_ = get(t, ro, "a")
	put(t, db, map[string]any{"a": 2})
	if err := ro.Commit(); err != nil {
		t.Fatalf("read-only commit: %v", err)
	}

	const n, k = 8, 200
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("g%d", g)
			for i := 0; i < k; i++ {
				tx := db.Begin()
				v, _ := tx.Get(key)
				c, _ := v.(int)
				_ = get(t, tx, "a") // a shared read
				tx.Put(key, c+1)
				if err := tx.Commit(); err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	tx := db.Begin()
	defer tx.Rollback()
	for g := 0; g < n; g++ {
		if got := get(t, tx, fmt.Sprintf("g%d", g)); got != k {
			t.Fatalf("g%d = %v, want %d", g, got, k)
		}
	}
}

func TestKVFailCommits(t *testing.T) {
	db := NewKV(nil)
	put(t, db, map[string]any{"k": 1})
	boom := errors.New("injected: connection lost")
	calls := 0
	db.FailCommits(func() error { calls++; return boom })
	tx := db.Begin()
	tx.Put("k", 2)
	tx.Put("new", true)
	if err := tx.Commit(); !errors.Is(err, boom) {
		t.Fatalf("commit: %v, want the injected error", err)
	}
	if calls != 1 {
		t.Fatalf("failer called %d times", calls)
	}
	db.FailCommits(nil)
	check := db.Begin()
	if get(t, check, "k") != 1 {
		t.Fatal("a failed commit wrote k")
	}
	if _, ok := check.Get("new"); ok {
		t.Fatal("a failed commit wrote new")
	}
	check.Rollback()
	if a := activeSnapshots(db); a != 0 {
		t.Fatalf("a failed commit left %d snapshots registered", a)
	}
	// The store is usable afterwards, and the failed transaction left no
	// write that would make others conflict.
	put(t, db, map[string]any{"k": 3})
}

func TestKVPruningKeepsOldSnapshots(t *testing.T) {
	db := NewKV(nil)
	put(t, db, map[string]any{"k": 0, "gone": "here"})
	old := db.Begin()
	for i := 1; i <= 100; i++ {
		put(t, db, map[string]any{"k": i})
	}
	del := db.Begin()
	del.Delete("gone")
	if err := del.Commit(); err != nil {
		t.Fatal(err)
	}
	mid := db.Begin()
	for i := 101; i <= 200; i++ {
		put(t, db, map[string]any{"k": i})
	}
	if get(t, old, "k") != 0 || get(t, old, "gone") != "here" {
		t.Fatal("pruning broke the oldest open snapshot")
	}
	if get(t, mid, "k") != 100 {
		t.Fatalf("middle snapshot sees %v, want 100", get(t, mid, "k"))
	}
	if _, ok := mid.Get("gone"); ok {
		t.Fatal("middle snapshot sees a key deleted before it")
	}
	// A write from the old snapshot still conflicts although many versions
	// came and went.
	old.Put("k", -1)
	if err := old.Commit(); err == nil {
		t.Fatal("old snapshot's write did not conflict")
	}
	mid.Rollback()
	// With no snapshot open, versions stop piling up: each key keeps at most
	// the one its committing transaction read and the one it wrote.
	for i := 201; i <= 300; i++ {
		put(t, db, map[string]any{"k": i})
	}
	db.mu.Lock()
	nk := len(db.data["k"])
	db.mu.Unlock()
	if nk > 2 {
		t.Fatalf("k keeps %d versions with no snapshot open", nk)
	}
	latest := db.Begin()
	if get(t, latest, "k") != 300 {
		t.Fatal("latest value lost to pruning")
	}
	latest.Rollback()
	if a := activeSnapshots(db); a != 0 {
		t.Fatalf("%d snapshots registered", a)
	}
}
