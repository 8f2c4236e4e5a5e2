package cursors

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"hotrow/internal/clock"
)

// writer owns every store write, off the rooms' hot path. It keeps the
// latest wanted content of each local item and writes it when due: puts for
// one (room, user) at most once per interval, each item rewritten every
// refresh while it lives, deletes as soon as no put of the same item is in
// flight. At most workers operations run at once; everything else waits,
// coalesced, in the items map, which holds one entry per joined socket and
// room. A slow or dead store therefore only delays cursor persistence.
type writer struct {
	store    Store
	clock    clock.Clock
	log      *slog.Logger
	m        *metrics
	interval time.Duration // per (room, user) put spacing
	refresh  time.Duration
	ttl      time.Duration
	timeout  time.Duration
	scan     time.Duration
	workers  int

	mu      sync.Mutex
	items   map[itemKey]*witem
	users   map[userKey]*wuser
	busy    int
	failing map[string]bool // op → the last attempt failed (for logging transitions)

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
	ops  sync.WaitGroup
	ctx  context.Context
	stop context.CancelFunc
}

type itemKey struct{ room, user, conn string }
type userKey struct{ room, user string }

func (k itemKey) userKey() userKey { return userKey{k.room, k.user} }

type witem struct {
	it       Item
	gen      uint64 // bumped by every change
	sentGen  uint64
	dirty    bool // content not yet written
	written  bool // a put was ever dispatched
	lastOK   time.Time
	inflight bool
	deleted  bool
	delTries int
	retryAt  time.Time
}

type wuser struct {
	next  time.Time // earliest next put
	items int
}

const maxDeleteTries = 3

func newWriter(store Store, c clock.Clock, log *slog.Logger, m *metrics, cfg *Config) *writer {
	ctx, stop := context.WithCancel(context.Background())
	scan := cfg.WriteInterval / 10
	scan = max(scan, 10*time.Millisecond)
	scan = min(scan, 250*time.Millisecond)
	w := &writer{store: store, clock: c, log: log, m: m,
		interval: cfg.WriteInterval, refresh: cfg.RefreshInterval, ttl: cfg.TTL, timeout: cfg.StoreTimeout,
		scan: scan, workers: cfg.StoreWorkers,
		items: map[itemKey]*witem{}, users: map[userKey]*wuser{}, failing: map[string]bool{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}), ctx: ctx, stop: stop}
	go w.run()
	return w
}

func (w *writer) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// upsert sets the wanted content of an item.
func (w *writer) upsert(it Item) {
	k := itemKey{it.Room, it.User, it.Conn}
	w.mu.Lock()
	e := w.items[k]
	urgent := false
	if e == nil {
		e = &witem{}
		w.items[k] = e
		u := w.users[k.userKey()]
		if u == nil {
			u = &wuser{}
			w.users[k.userKey()] = u
		}
		u.items++
		urgent = true
	} else if e.dirty && (!e.inflight || e.gen != e.sentGen) {
		// A position waiting to be written is replaced: one write saved.
		w.m.writes.WithLabelValues(outcomeCoalesced).Inc()
	}
	if e.deleted {
		e.deleted, e.delTries, urgent = false, 0, true
	}
	e.it = it
	e.gen++
	e.dirty = true
	w.mu.Unlock()
	if urgent {
		w.kick()
	}
}

// remove asks for the item's deletion.
func (w *writer) remove(room, user, conn string) {
	w.mu.Lock()
	if e := w.items[itemKey{room, user, conn}]; e != nil && !e.deleted {
		e.deleted, e.delTries, e.retryAt = true, 0, time.Time{}
	}
	w.mu.Unlock()
	w.kick()
}

// removeAll asks for the deletion of every item (shutdown).
func (w *writer) removeAll() {
	w.mu.Lock()
	for _, e := range w.items {
		if !e.deleted {
			e.deleted, e.delTries, e.retryAt = true, 0, time.Time{}
		}
	}
	w.mu.Unlock()
	w.kick()
}

// busyNow reports the operations in flight.
func (w *writer) busyNow() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.busy
}

// pending reports the items the writer still holds.
func (w *writer) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.items)
}

func (w *writer) run() {
	defer close(w.done)
	for {
		t := w.clock.NewTimer(w.scan)
		select {
		case <-t.C():
		case <-w.wake:
			t.Stop()
		case <-w.quit:
			t.Stop()
			return
		}
		w.scanOnce()
	}
}

// close stops the writer; operations in flight are cancelled.
func (w *writer) close() {
	close(w.quit)
	<-w.done
	w.stop()
	w.ops.Wait()
}

func (w *writer) forget(k itemKey) {
	delete(w.items, k)
	if u := w.users[k.userKey()]; u != nil {
		u.items--
		if u.items <= 0 {
			delete(w.users, k.userKey())
		}
	}
}

func (w *writer) scanOnce() {
	now := w.clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, e := range w.items {
		if w.busy >= w.workers {
			return
		}
		if e.inflight {
			continue
		}
		if e.deleted {
			if !e.written {
				w.forget(k)
				continue
			}
			if now.Before(e.retryAt) {
				continue
			}
			e.inflight = true
			w.busy++
			w.ops.Add(1)
			go w.doDelete(k)
			continue
		}
		if !e.dirty && now.Sub(e.lastOK) < w.refresh {
			continue
		}
		u := w.users[k.userKey()]
		if now.Before(u.next) {
			continue
		}
		u.next = now.Add(w.interval)
		it := e.it
		it.ExpiresAt = now.Add(w.ttl)
		e.inflight, e.written, e.sentGen = true, true, e.gen
		w.busy++
		w.ops.Add(1)
		go w.doPut(k, it, now)
	}
}

func (w *writer) doPut(k itemKey, it Item, at time.Time) {
	defer w.ops.Done()
	ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
	err := w.store.Put(ctx, it)
	cancel()
	w.mu.Lock()
	w.busy--
	w.report(opPut, err)
	e := w.items[k]
	if e != nil {
		e.inflight = false
		if err == nil {
			e.lastOK = at
			if e.gen == e.sentGen {
				e.dirty = false
			}
		}
	}
	again := e != nil && e.deleted
	w.mu.Unlock()
	if again {
		w.kick()
	}
}

func (w *writer) doDelete(k itemKey) {
	defer w.ops.Done()
	ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
	err := w.store.Delete(ctx, k.room, k.user, k.conn)
	cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.busy--
	w.report(opDelete, err)
	e := w.items[k]
	if e == nil {
		return
	}
	e.inflight = false
	if !e.deleted {
		// Joined again meanwhile: the next put rewrites it.
		e.dirty = true
		return
	}
	e.delTries++
	if err == nil || e.delTries >= maxDeleteTries {
		// After a few failures the TTL removes the item.
		w.forget(k)
		return
	}
	e.retryAt = w.clock.Now().Add(w.interval)
}

// report counts an outcome and logs when the store starts or stops failing.
// Called with w.mu held.
func (w *writer) report(op string, err error) {
	if err == nil {
		w.m.writes.WithLabelValues(outcomeOK).Inc()
		if w.failing[op] {
			w.failing[op] = false
			w.log.Info("cursor store writes recovered", "op", op)
		}
		return
	}
	if w.ctx.Err() != nil {
		return // shutting down
	}
	w.m.writes.WithLabelValues(outcomeError).Inc()
	w.m.errors.WithLabelValues(op).Inc()
	if !w.failing[op] {
		w.failing[op] = true
		w.log.Warn("cursor store writes failing; cursors still flow on this hub, retrying at the bounded rate", "op", op, "err", err)
	}
}
