package hub

import (
	"sync"
	"time"

	"hotrow/internal/clock"
)

// lazyDelay is the longest a lazy frame (conn.SendLazy) waits for the
// socket's next write before it is written on its own. It is longer than
// the gap between a hot room's events (a bid every 100 ms or faster), so
// that there the frame rides with an event, and short beside the throttle
// of the counts it carries (a second or more).
const lazyDelay = 250 * time.Millisecond

// lazyFlusher writes, lazyDelay after they were queued, the lazy frames
// that no other write took along. One timer serves the whole hub: the
// sockets given to it in one period are looked at together when it fires.
//
// Why: when a room of 10,000 sockets sends its presence count, sending it
// at once costs 10,000 writes, a whole extra pass of the writers (measured
// with make bench: the count sent after a join storm, landing in the
// fan-out, raised its p99 from about 300 to 450-600 ms). Held back, it goes
// out in the writes the next event makes anyway.
type lazyFlusher struct {
	clock clock.Clock
	delay time.Duration
	pool  *writerPool
	stop  <-chan struct{}

	mu    sync.Mutex
	conns []*conn
	armed bool
}

// add gives c to the next flush.
func (l *lazyFlusher) add(c *conn) {
	l.mu.Lock()
	l.conns = append(l.conns, c)
	arm := !l.armed
	l.armed = true
	l.mu.Unlock()
	if arm {
		go l.wait()
	}
}

// wait sleeps out the delay, then flushes.
func (l *lazyFlusher) wait() {
	t := l.clock.NewTimer(l.delay)
	select {
	case <-t.C():
	case <-l.stop:
		t.Stop()
	}
	l.flush()
}

// flush starts a writer for every socket given to it whose lazy frames are
// still waiting: those that no write took along meanwhile.
func (l *lazyFlusher) flush() {
	l.mu.Lock()
	conns := l.conns
	l.conns, l.armed = nil, false
	l.mu.Unlock()
	for _, c := range conns {
		if c.q.claimPending() {
			l.pool.enqueue(c)
		}
	}
}
