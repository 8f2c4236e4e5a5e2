package bench

import (
	"bytes"
	"context"
	"sync/atomic"
	"time"
)

// target is one server under test, as the load client drives it: the same
// client code measures every target, only what is said on the socket
// differs.
type target interface {
	// name is the column heading.
	name() string
	// start runs the server process and returns it ready.
	start(ctx context.Context) (*server, error)
	// room prepares a room (an auction, a channel) for a phase.
	room(ctx context.Context, name string) (string, error)
	// join connects a watcher and subscribes it to room; it returns once
	// the subscription is confirmed, with the time the server's first
	// frame (welcome, connect reply) arrived after dialling began.
	join(ctx context.Context, d *dialer, room string, w *watcher) (welcome time.Duration, err error)
	// triggers returns what publishes event n to room.
	trigger(ctx context.Context, d *dialer, room string) (func(ctx context.Context, n int) error, func(), error)
	// answer returns the reply a frame needs (a pong to the server's ping),
	// or nil.
	answer(frame []byte) []byte
	// presence returns the bytes of presence frames a frame holds.
	presence(frame []byte) int
}

// watcher is one subscribed socket: it counts what it receives.
type watcher struct {
	s *socket

	presenceBytes atomic.Int64
	frames        atomic.Int64
	eventBytes    atomic.Int64
	events        atomic.Int64 // trigger events received

	// Written by the read loop only; read after it stopped.
	got      int     // trigger events received
	next     int     // the trigger number expected next
	disorder int     // events missing, repeated or out of order
	lat      []int32 // latency of each event received, in microseconds
}

// readLoop reads until the socket closes, counting events against sent
// (the send time of trigger n, in ns since start).
func (w *watcher) readLoop(t target, sent []atomic.Int64, start time.Time, done func()) {
	defer done()
	ctx := context.Background()
	for {
		b, err := w.s.read(ctx)
		if err != nil {
			return
		}
		now := time.Since(start)
		w.frames.Add(1)
		if reply := t.answer(b); reply != nil {
			_ = w.s.write(ctx, reply)
		}
		if n := t.presence(b); n > 0 {
			w.presenceBytes.Add(int64(n))
		}
		if !bytes.Contains(b, triggerMarker) {
			continue
		}
		w.eventBytes.Add(int64(len(b)))
		triggers(b, func(n int) {
			if n != w.next {
				w.disorder++
			}
			w.next = n + 1
			w.got++
			w.events.Add(1)
			if n >= 0 && n < len(sent) {
				if at := sent[n].Load(); at > 0 {
					w.lat = append(w.lat, int32((now-time.Duration(at))/time.Microsecond))
				}
			}
		})
	}
}
