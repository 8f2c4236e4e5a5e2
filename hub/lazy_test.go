package hub

import (
	"slices"
	"testing"
	"time"

	"hotrow/internal/clock"
)

// A lazy frame wakes no writer; the next frame pushed starts one, which
// takes both, in order: the count rides with the event.
func TestLazyFrameRidesWithTheNextPush(t *testing.T) {
	q, _ := newTestQueue(16, 1<<20)
	count, event := []byte("count"), []byte("event")
	if res, later := q.pushLazy(count); res != pushQueued || !later {
		t.Fatalf("pushLazy on an idle queue = %v, later %v; want queued, later", res, later)
	}
	if _, start := q.push(event, false); !start {
		t.Fatal("the push after a lazy frame did not start a writer")
	}
	batch, _, _, _ := q.take(nil)
	if len(batch) != 2 || string(batch[0]) != "count" || string(batch[1]) != "event" {
		t.Fatalf("the writer took %q, want [count event]", batch)
	}
	q.written(batch)
	if q.claimPending() {
		t.Error("claimPending started a second writer while one runs")
	}
	if q.more() {
		t.Error("frames left after the writer took everything")
	}
	// While a writer runs, a lazy frame needs nothing later: it takes it.
	q.push(event, false)
	if _, later := q.pushLazy(count); later {
		t.Error("a lazy frame behind a running writer was left for the flusher")
	}
	// Lazy frames are droppable: never more than half the queue.
	for range 8 {
		q.pushLazy(count)
	}
	if res, _ := q.pushLazy(count); res != pushDropped {
		t.Errorf("lazy frame into a half full queue: %v, want dropped", res)
	}
}

// A lazy frame that no write took along is written lazyDelay after it was
// queued, and not before; one a write took along is left alone.
func TestLazyFlusherWritesWhatNoWriteTookAlong(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	pool := &writerPool{} // no goroutines: the test reads its ready list
	pool.cond.L = &pool.mu
	stop := make(chan struct{})
	defer close(stop)
	l := &lazyFlusher{clock: clk, delay: lazyDelay, pool: pool, stop: stop}

	waiting, taken := &conn{}, &conn{}
	waiting.q, _ = newTestQueue(16, 1<<20)
	taken.q, _ = newTestQueue(16, 1<<20)
	for _, c := range []*conn{waiting, taken} {
		if _, later := c.q.pushLazy([]byte("count")); later {
			l.add(c)
		}
	}
	// taken's count goes out with an event before the delay is up.
	if _, start := taken.q.push([]byte("event"), false); !start {
		t.Fatal("no writer started for the event")
	}
	batch, _, _, _ := taken.q.take(nil)
	taken.q.written(batch)
	taken.q.more()

	for clk.Timers() == 0 {
		time.Sleep(time.Millisecond) // the flusher's timer is armed by its goroutine
	}
	clk.Advance(lazyDelay - time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if n := readyLen(pool); n != 0 {
		t.Fatalf("%d sockets written before the delay was up", n)
	}
	clk.Advance(time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for readyLen(pool) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	pool.mu.Lock()
	ready := slices.Clone(pool.ready[pool.head:])
	pool.mu.Unlock()
	if len(ready) != 1 || ready[0] != waiting {
		t.Fatalf("flushed %d sockets (the waiting one: %v), want only the one whose count waits", len(ready), slices.Contains(ready, waiting))
	}
	if b, _, _, _ := waiting.q.take(nil); len(b) != 1 || string(b[0]) != "count" {
		t.Errorf("the flushed socket's writer takes %q, want [count]", b)
	}
}

func readyLen(p *writerPool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ready) - p.head
}
