package hub

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// sendQueue holds the encoded frames waiting for one socket's writer. Rooms
// and the read loop push without ever waiting; the writer takes everything
// queued at once and writes it back to back.
//
// The queue is bounded twice: by frames and by bytes, counting every frame
// not yet written, those queued and those the writer is writing. A frame is
// refused once the socket is that far behind (maxFrames frames, or at least
// maxBytes bytes; one large frame, such as a joined frame holding a whole
// schema document, still goes to a socket that keeps up, so at most one
// frame's worth past maxBytes is ever held):
//   - a droppable frame (a cursor batch; the next one supersedes it) is
//     dropped, and counted, as soon as the socket is half that far behind;
//   - any other frame (a committed event, a reply) is never dropped: push
//     reports full, and the socket must be closed as a slow consumer; the
//     client recovers by re-joining with since.
//
// Closing the queue (close) is final: it takes no frame after it, and the
// writer gets the frames queued before it (when the disconnect flushes)
// and then the disconnect, in that order.
//
// Storage is lazy: a new queue holds no frame slots, and an idle one at most
// the two small slices its writer swaps (see take).
type sendQueue struct {
	maxFrames int
	maxBytes  int
	dropped   prometheus.Counter // droppable frames refused

	// wake has one slot; it is signalled when the queue goes from empty to
	// not, and when it is closed. The writer waits on it, then takes.
	wake chan struct{}

	mu      sync.Mutex
	pending [][]byte // queued, not yet taken by the writer
	frames  int      // not yet written: queued and being written
	bytes   int
	closed  bool
	why     disconnect
}

type pushResult int

const (
	pushQueued  pushResult = iota
	pushDropped            // droppable and the socket is half full: dropped and counted
	pushFull               // not droppable and the socket is full: close it as a slow consumer
	pushClosed             // the queue is closed: the socket is ending
)

func newSendQueue(maxFrames, maxBytes int, dropped prometheus.Counter) *sendQueue {
	return &sendQueue{maxFrames: maxFrames, maxBytes: maxBytes, dropped: dropped, wake: make(chan struct{}, 1)}
}

// push queues frame unless the queue is closed or the bounds refuse it. It
// never blocks.
func (q *sendQueue) push(frame []byte, droppable bool) pushResult {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return pushClosed
	case droppable && (q.frames >= q.maxFrames/2 || q.bytes >= q.maxBytes/2):
		q.mu.Unlock()
		q.dropped.Inc()
		return pushDropped
	case q.frames >= q.maxFrames || q.bytes >= q.maxBytes:
		q.mu.Unlock()
		return pushFull
	}
	wasEmpty := len(q.pending) == 0
	q.pending = append(q.pending, frame)
	q.frames++
	q.bytes += len(frame)
	q.mu.Unlock()
	if wasEmpty {
		q.signal()
	}
	return pushQueued
}

// close closes the queue for d and reports whether this call closed it (the
// first close wins; later ones change nothing). Unless d flushes, the
// frames not yet taken are discarded.
func (q *sendQueue) close(d disconnect) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.closed, q.why = true, d
	if !d.flush {
		clear(q.pending)
		q.pending = nil
	}
	q.mu.Unlock()
	q.signal()
	return true
}

// spareCap is the largest batch slice kept for reuse; a burst longer than it
// (a socket that fell behind) leaves its slice to the garbage collector, so
// an idle socket never holds more than two slices of spareCap frames.
const spareCap = 16

// take hands the writer every frame queued, in order, and, once the queue is
// closed, why. The writer passes back the batch it last took (emptied by
// written) as spare: the two slices swap, so a socket that keeps up
// allocates nothing per burst. The taken frames still count against the
// bounds until the writer reports them written.
func (q *sendQueue) take(spare [][]byte) (batch [][]byte, why disconnect, closed bool) {
	if cap(spare) > spareCap {
		spare = nil
	}
	q.mu.Lock()
	batch, q.pending = q.pending, spare[:0]
	why, closed = q.why, q.closed
	q.mu.Unlock()
	return batch, why, closed
}

// written tells the queue the writer has written batch (or given up on it);
// it empties batch so that the frames can be collected.
func (q *sendQueue) written(batch [][]byte) {
	n := 0
	for _, f := range batch {
		n += len(f)
	}
	clear(batch)
	q.mu.Lock()
	q.frames -= len(batch)
	q.bytes -= n
	q.mu.Unlock()
}

// size reports the frames and bytes not yet written (after a close that
// discards them, those that were waiting when it closed).
func (q *sendQueue) size() (frames, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.frames, q.bytes
}

func (q *sendQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
