package hub

import (
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func frame(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }

func newTestQueue(maxFrames, maxBytes int) (*sendQueue, prometheus.Counter) {
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped"})
	q := &sendQueue{}
	q.init(maxFrames, maxBytes, dropped)
	return q, dropped
}

func mustPush(t *testing.T, q *sendQueue, f []byte, droppable bool, want pushResult) {
	t.Helper()
	if got, _ := q.push(f, droppable); got != want {
		fr, by := q.size()
		t.Fatalf("push(%d bytes, droppable=%v) = %v, want %v (queue holds %d frames, %d bytes)", len(f), droppable, got, want, fr, by)
	}
}

func TestSendQueueFrameBound(t *testing.T) {
	q, _ := newTestQueue(4, 1<<20)
	for range 4 {
		mustPush(t, q, frame(10), false, pushQueued)
	}
	mustPush(t, q, frame(10), false, pushFull)

	// Frames the writer has taken but not written still count.
	batch, _, closed, _ := q.take(nil)
	if len(batch) != 4 || closed {
		t.Fatalf("take = %d frames, closed %v; want 4, open", len(batch), closed)
	}
	mustPush(t, q, frame(10), false, pushFull)
	q.written(batch)
	mustPush(t, q, frame(10), false, pushQueued)
	if f, b := q.size(); f != 1 || b != 10 {
		t.Fatalf("size = %d frames, %d bytes; want 1, 10", f, b)
	}
}

func TestSendQueueByteBound(t *testing.T) {
	q, _ := newTestQueue(100, 100)
	mustPush(t, q, frame(60), false, pushQueued)
	// 60 bytes wait: under the bound, so the next frame is taken even
	// though it passes it.
	mustPush(t, q, frame(60), false, pushQueued)
	// 120 bytes wait: full, however small the frame.
	mustPush(t, q, frame(1), false, pushFull)

	// One frame larger than the bound goes to a socket that keeps up.
	q2, _ := newTestQueue(100, 100)
	mustPush(t, q2, frame(500), false, pushQueued)
	mustPush(t, q2, frame(1), false, pushFull)
	batch, _, _, _ := q2.take(nil)
	q2.written(batch)
	mustPush(t, q2, frame(1), false, pushQueued)
}

func TestSendQueueDropsDroppableAtHalf(t *testing.T) {
	t.Run("frames", func(t *testing.T) {
		q, dropped := newTestQueue(4, 1<<20)
		mustPush(t, q, frame(1), true, pushQueued)
		mustPush(t, q, frame(1), false, pushQueued)
		mustPush(t, q, frame(1), true, pushDropped) // 2 of 4
		mustPush(t, q, frame(1), false, pushQueued)
		mustPush(t, q, frame(1), false, pushQueued)
		mustPush(t, q, frame(1), true, pushDropped) // full: dropped, not evicted
		if got := testutil.ToFloat64(dropped); got != 2 {
			t.Fatalf("dropped = %v, want 2", got)
		}
		if f, _ := q.size(); f != 4 {
			t.Fatalf("queued %d frames, want 4", f)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		q, dropped := newTestQueue(100, 100)
		mustPush(t, q, frame(49), false, pushQueued)
		mustPush(t, q, frame(1), true, pushQueued)
		mustPush(t, q, frame(1), true, pushDropped) // 50 of 100 bytes
		mustPush(t, q, frame(1), false, pushQueued)
		if got := testutil.ToFloat64(dropped); got != 1 {
			t.Fatalf("dropped = %v, want 1", got)
		}
	})
}

func TestSendQueueNothingAfterClose(t *testing.T) {
	q, dropped := newTestQueue(4, 1<<20)
	if closed, _ := q.close(disconnectShutdown); !closed {
		t.Fatal("first close reported not closing")
	}
	if closed, _ := q.close(disconnectSlowConsumer); closed {
		t.Fatal("second close reported closing")
	}
	mustPush(t, q, frame(1), false, pushClosed)
	mustPush(t, q, frame(1), true, pushClosed)
	batch, why, closed, _ := q.take(nil)
	if len(batch) != 0 || !closed || why != disconnectShutdown {
		t.Fatalf("take = %d frames, %+v, closed %v; want none, shutdown (the first close), closed", len(batch), why, closed)
	}
	if got := testutil.ToFloat64(dropped); got != 0 {
		t.Fatalf("frames refused after close counted as dropped: %v", got)
	}
}

func TestSendQueueFlushThenClose(t *testing.T) {
	q, _ := newTestQueue(8, 1<<20)
	a, b := []byte("a"), []byte("b")
	mustPush(t, q, a, false, pushQueued)
	mustPush(t, q, b, false, pushQueued)
	q.close(disconnectShutdown) // flushes
	mustPush(t, q, []byte("c"), false, pushClosed)
	batch, why, closed, _ := q.take(nil)
	if len(batch) != 2 || string(batch[0]) != "a" || string(batch[1]) != "b" {
		t.Fatalf("take = %q, want [a b]", batch)
	}
	if !closed || why != disconnectShutdown {
		t.Fatalf("take: closed %v, %+v; want the shutdown with the frames", closed, why)
	}

	// A slow consumer's close discards what is queued: the client re-joins
	// with since instead.
	q2, _ := newTestQueue(8, 1<<20)
	mustPush(t, q2, a, false, pushQueued)
	q2.close(disconnectSlowConsumer)
	if batch, why, closed, _ := q2.take(nil); len(batch) != 0 || !closed || why != disconnectSlowConsumer {
		t.Fatalf("take = %q, %+v, %v; want nothing, slow consumer, closed", batch, why, closed)
	}
}

// A writer is started by the push that finds none running, and by the
// close; it ends when it finds nothing to take, so an idle socket has none.
func TestSendQueueStartsWriterOnDemand(t *testing.T) {
	q, _ := newTestQueue(8, 1<<20)
	push := func(want bool, why string) {
		t.Helper()
		if _, start := q.push(frame(1), false); start != want {
			t.Fatalf("push: start = %v, want %v (%s)", start, want, why)
		}
	}
	push(true, "the first frame starts a writer")
	push(false, "a writer runs")
	batch, _, _, idle := q.take(nil)
	if len(batch) != 2 || idle {
		t.Fatalf("take = %d frames, idle %v; want 2, not idle", len(batch), idle)
	}
	push(false, "the writer is writing: it takes the frame after its burst")
	q.written(batch)
	batch, _, _, idle = q.take(batch)
	if len(batch) != 1 || idle {
		t.Fatalf("take = %d frames, idle %v; want 1, not idle", len(batch), idle)
	}
	q.written(batch)
	if _, _, _, idle = q.take(batch); !idle {
		t.Fatal("take on an empty queue: not idle")
	}
	if q.pending != nil {
		t.Fatalf("an idle queue keeps %d frame slots", cap(q.pending))
	}
	push(true, "the writer ended: the next frame starts another")
	if _, _, _, idle = q.take(nil); idle {
		t.Fatal("take: idle with a frame queued")
	}
	if closed, start := q.close(disconnectShutdown); !closed || start {
		t.Fatalf("close while a writer runs: closed %v, start %v; want true, false", closed, start)
	}
	q2, _ := newTestQueue(8, 1<<20)
	if closed, start := q2.close(disconnectShutdown); !closed || !start {
		t.Fatalf("close of an idle queue: closed %v, start %v; want a writer started to close the socket", closed, start)
	}
	if _, _, closed, idle := q2.take(nil); !closed || idle {
		t.Fatalf("take after close: closed %v, idle %v; want the close", closed, idle)
	}
}

// A writer that finds more queued after a burst allocates nothing for it.
func TestSendQueueReusesStorage(t *testing.T) {
	q, _ := newTestQueue(512, 1<<20)
	if q.pending != nil {
		t.Fatalf("a new queue holds %d frame slots", cap(q.pending))
	}
	f := frame(10)
	q.push(f, false)
	var batch [][]byte
	burst := func() {
		q.push(f, false)
		q.push(f, false)
		batch, _, _, _ = q.take(batch)
		q.written(batch)
	}
	burst()
	burst()
	if allocs := testing.AllocsPerRun(100, burst); allocs != 0 {
		t.Fatalf("%v allocations per burst, want 0", allocs)
	}
	// A long burst's slice is not kept.
	for range 100 {
		q.push(f, false)
	}
	batch, _, _, _ = q.take(batch)
	q.written(batch)
	q.push(f, false)
	q.take(batch)
	if cap(q.pending) > spareCap {
		t.Fatalf("the queue kept a slice of %d slots after a long burst", cap(q.pending))
	}
}

// Overflowing a socket's queue closes it as a slow consumer once, however
// many frames follow, and discards what was queued; no socket is needed.
func TestSendEvictsSlowConsumerOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := &Hub{cfg: Config{SendQueue: 4, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, m: newMetrics(reg, nil)}
	h.cfg.defaults()
	c := newConn(h, nil, Identity{User: "u"})
	// A writer runs and is stuck writing: nothing it takes leaves the queue.
	c.q.writing = true
	for i := range 4 {
		if !c.Send(frame(10), false) {
			t.Fatalf("frame %d refused", i)
		}
	}
	if !c.Send(frame(10), true) {
		t.Fatal("a dropped cursor frame reported the socket gone")
	}
	for range 3 {
		if c.Send(frame(10), false) {
			t.Fatal("a full queue took a frame")
		}
	}
	c.Close(1012, "room resync") // a later close changes nothing
	if batch, why, closed, _ := c.q.take(nil); len(batch) != 0 || !closed || why != disconnectSlowConsumer {
		t.Fatalf("take = %d frames, %+v, %v; want nothing, slow consumer, closed", len(batch), why, closed)
	}
	for label, want := range map[string]float64{"slow_consumer": 1, "resync": 0} {
		if got := testutil.ToFloat64(h.m.disconnects.WithLabelValues(label)); got != want {
			t.Errorf("disconnects{%s} = %v, want %v", label, got, want)
		}
	}
	if got := testutil.ToFloat64(h.m.droppedHalfFull); got != 1 {
		t.Errorf("dropped = %v, want 1", got)
	}
}

// A frame that finds the queue empty goes in the queue's own slot, with no
// slice to allocate; frames pushed while the writer writes a batch from that
// slot never touch the batch, whichever way the writer takes them next (as
// writerFrom does, handing its written batch back as a spare).
func TestSendQueueInlineSlot(t *testing.T) {
	q, _ := newTestQueue(8, 1<<20)
	mustPush(t, q, []byte("a"), false, pushQueued)
	batch, _, _, _ := q.take(nil)
	if !q.isInline(batch) || string(batch[0]) != "a" {
		t.Fatalf("first batch %q: want a, from the inline slot", batch)
	}
	mustPush(t, q, []byte("b"), false, pushQueued) // while the writer holds the slot
	if string(batch[0]) != "a" {
		t.Fatalf("a push while writing changed the batch to %q", batch)
	}
	q.written(batch)
	batch, _, _, _ = q.take(batch)
	if len(batch) != 1 || string(batch[0]) != "b" {
		t.Fatalf("second batch %q, want b", batch)
	}
	q.written(batch)
	// The slot is free again: c goes in it. The writer takes c, handing
	// back its last batch (the slot's slice too) as a spare; d, pushed
	// while c is written, must not land on c.
	if q.more() {
		t.Fatal("more: true with nothing queued")
	}
	mustPush(t, q, []byte("c"), false, pushQueued)
	old, _, _, _ := q.take(nil)
	q.written(old)
	mustPush(t, q, []byte("c2"), false, pushQueued)
	cur, _, _, _ := q.take(old)
	mustPush(t, q, []byte("d"), false, pushQueued)
	if len(cur) != 1 || string(cur[0]) != "c2" {
		t.Fatalf("batch %q, want c2 untouched by the push after it", cur)
	}
	q.written(cur)
	if next, _, _, _ := q.take(cur); len(next) != 1 || string(next[0]) != "d" {
		t.Fatalf("last batch %q, want d", next)
	} else {
		q.written(next)
	}
	q.more()
	e := []byte("e")
	if n := testing.AllocsPerRun(100, func() {
		q.push(e, false)
		b, _, _, _ := q.take(nil)
		q.writtenMore(b)
	}); n != 0 {
		t.Errorf("push, take and write on an idle queue: %v allocations, want 0", n)
	}
}

// Frames outgrowing the queue's own slot leave nothing behind in it: a
// joined frame followed by its greeting, written and gone, is not kept
// alive by the slot for the rest of the socket's life.
func TestSendQueueSlotKeepsNothingWritten(t *testing.T) {
	q, _ := newTestQueue(8, 1<<20)
	mustPush(t, q, []byte("joined"), false, pushQueued)
	mustPush(t, q, []byte("presence"), true, pushQueued)
	batch, _, _, _ := q.take(nil)
	if len(batch) != 2 {
		t.Fatalf("batch %q, want joined and presence", batch)
	}
	q.writtenMore(batch)
	if q.inline[0] != nil {
		t.Fatalf("the slot still holds %q after it was written", q.inline[0])
	}
}
