package rooms

import (
	"context"
	"sync"
)

// inbox is a room's queue of pending requests, bounded at max. Storage is
// lazy: a new inbox holds no slots, and an idle one at most the two small
// slices its sequencer swaps (see take), so a room costs almost nothing
// until it has work. Senders never wait while there is room; a sender that
// finds it full waits until the sequencer takes what is queued, or its
// context ends.
type inbox struct {
	max int
	// wake has one slot; it is signalled when the inbox goes from empty to
	// not. The sequencer waits on it, then takes.
	wake chan struct{}

	mu      sync.Mutex
	pending []request
	space   chan struct{} // closed by take when senders wait for room; nil when none do
}

func newInbox(max int) *inbox { return &inbox{max: max, wake: make(chan struct{}, 1)} }

// push queues req, waiting for room while the inbox is full, until ctx ends.
func (q *inbox) push(ctx context.Context, req request) error {
	for {
		q.mu.Lock()
		if len(q.pending) < q.max {
			q.pending = append(q.pending, req)
			wasEmpty := len(q.pending) == 1
			q.mu.Unlock()
			if wasEmpty {
				q.signal()
			}
			return nil
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		space := q.space
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// offer queues req unless the inbox is full; it never waits.
func (q *inbox) offer(req request) bool {
	q.mu.Lock()
	if len(q.pending) >= q.max {
		q.mu.Unlock()
		return false
	}
	q.pending = append(q.pending, req)
	wasEmpty := len(q.pending) == 1
	q.mu.Unlock()
	if wasEmpty {
		q.signal()
	}
	return true
}

// spareRequests is the largest batch slice kept for reuse: a room that had
// a burst leaves its slice to the garbage collector.
const spareRequests = 16

// take hands the sequencer every queued request, in order. It passes back
// the batch it last took, handled, as spare: the two slices swap, so a room
// that keeps up allocates nothing per batch.
func (q *inbox) take(spare []request) []request {
	if cap(spare) > spareRequests {
		spare = nil
	}
	clear(spare[:cap(spare)])
	q.mu.Lock()
	batch := q.pending
	q.pending = spare[:0]
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	q.mu.Unlock()
	return batch
}

// size reports how many requests are queued.
func (q *inbox) size() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

func (q *inbox) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
