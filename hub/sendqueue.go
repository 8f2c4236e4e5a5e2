package hub

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// sendQueue holds the encoded frames waiting for one socket's writer. Rooms
// and the read loop push without ever waiting; the writer takes everything
// queued at once and writes it back to back.
//
// A writer works on the queue only while there is something to write: the
// push that finds the queue idle (or the close) is told to start one (the
// hub's writers take the socket, writers.go), and the writer stops when it
// finds nothing left to take. An idle socket thus costs no goroutine, no
// stack and no channel for its writes.
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
// Storage is lazy: a queue holds one frame slot of its own (inline), and
// a slice only while more frames wait than that (see take).
type sendQueue struct {
	maxFrames int
	maxBytes  int
	dropped   prometheus.Counter // droppable frames refused

	mu      sync.Mutex
	pending [][]byte // queued, not yet taken by the writer
	// inline is pending's storage when a frame finds the queue empty, the
	// usual case in a fan-out (one event per socket per write): without it
	// every such push allocated a slice. Not while a batch taken from it
	// is being written (lent).
	inline  [1][]byte
	lent    bool
	frames  int // not yet written: queued and being written
	bytes   int
	writing bool // a writer runs: it will take what is pushed
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

// init sets up a queue, allocated with its socket (connMem).
func (q *sendQueue) init(maxFrames, maxBytes int, dropped prometheus.Counter) {
	q.maxFrames, q.maxBytes, q.dropped = maxFrames, maxBytes, dropped
}

// push queues frame unless the queue is closed or the bounds refuse it. It
// never blocks. start reports that no writer runs: the caller must start
// one.
func (q *sendQueue) push(frame []byte, droppable bool) (res pushResult, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return pushClosed, false
	case droppable && (q.frames >= q.maxFrames/2 || q.bytes >= q.maxBytes/2):
		q.dropped.Inc()
		return pushDropped, false
	case q.frames >= q.maxFrames || q.bytes >= q.maxBytes:
		return pushFull, false
	}
	q.add(frame)
	q.frames++
	q.bytes += len(frame)
	return pushQueued, q.claim()
}

// pushLazy queues a droppable frame that need not go out at once (a
// presence count): it wakes no writer. A writer running, or started by the
// next push, takes it with the rest; later reports that none will, so the
// caller must see to it later (claimPending) that it does not wait forever.
func (q *sendQueue) pushLazy(frame []byte) (res pushResult, later bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return pushClosed, false
	case q.frames >= q.maxFrames/2 || q.bytes >= q.maxBytes/2:
		q.dropped.Inc()
		return pushDropped, false
	}
	q.add(frame)
	q.frames++
	q.bytes += len(frame)
	return pushQueued, !q.writing
}

// claimPending marks a writer running, and reports that the caller must
// start it, when frames wait and no writer runs: the lazy frames that no
// push has taken along meanwhile.
func (q *sendQueue) claimPending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 && !q.closed {
		return false
	}
	return q.claim()
}

// claim marks a writer running and reports whether none was. Called with
// the lock held.
func (q *sendQueue) claim() bool {
	if q.writing {
		return false
	}
	q.writing = true
	return true
}

// close closes the queue for d and reports whether this call closed it (the
// first close wins; later ones change nothing), and, like push, whether the
// caller must start a writer (which writes what d says and closes the
// socket). Unless d flushes, the frames not yet taken are discarded.
func (q *sendQueue) close(d disconnect) (closed, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false, false
	}
	q.closed, q.why = true, d
	if !d.flush {
		clear(q.pending)
		q.pending = nil
	}
	return true, q.claim()
}

// spareCap is the largest batch slice a writer keeps for reuse while it
// runs; a burst longer than it (a socket that fell behind) leaves its
// slice to the garbage collector.
const spareCap = 16

// take hands the writer every frame queued, in order, and, once the queue is
// closed, why. The writer passes back the batch it last took (emptied by
// written) as spare: the two slices swap, so a writer that finds more
// queued after a burst allocates nothing for it. The taken frames still
// count against the bounds until the writer reports them written.
//
// When nothing is queued and the queue is open, take reports idle: the
// writer must end, and the next push starts another. An idle queue keeps
// no slice.
func (q *sendQueue) take(spare [][]byte) (batch [][]byte, why disconnect, closed, idle bool) {
	if cap(spare) > spareCap || q.isInline(spare) {
		spare = nil // the inline slot is the queue's own, never a spare
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 && !q.closed {
		q.writing = false
		q.pending = nil
		return nil, disconnect{}, false, true
	}
	batch, q.pending = q.pending, spare[:0]
	q.lent = q.isInline(batch)
	return batch, q.why, q.closed, false
}

// more reports whether frames were queued (or the queue closed) since the
// writer's last take; when not, the writer is done, as with an idle take.
func (q *sendQueue) more() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.moreLocked()
}

func (q *sendQueue) moreLocked() bool {
	if len(q.pending) == 0 && !q.closed {
		q.writing = false
		q.pending = nil
		return false
	}
	return true
}

// written tells the queue the writer has written batch (or given up on it);
// it empties batch so that the frames can be collected.
func (q *sendQueue) written(batch [][]byte) {
	q.mu.Lock()
	q.writtenLocked(batch)
	q.mu.Unlock()
}

// writtenMore is written and then more, under one lock: what a writer
// calls after each burst that went out whole.
func (q *sendQueue) writtenMore(batch [][]byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.writtenLocked(batch)
	return q.moreLocked()
}

// add queues frame. Called with the lock held.
func (q *sendQueue) add(frame []byte) {
	q.pending = append(q.storage(), frame)
	if !q.lent && !q.isInline(q.pending) {
		// pending outgrew the slot (or never used it): the slot must not
		// keep a frame alive, such as the joined frame a greeting pushed
		// out of it (a socket's whole life, measured: 384 bytes a socket).
		q.inline[0] = nil
	}
}

// storage is where the next frame goes: pending, or the inline slot when
// pending is empty and the slot is free. Called with the lock held.
func (q *sendQueue) storage() [][]byte {
	if q.pending == nil && !q.lent {
		return q.inline[:0]
	}
	return q.pending
}

// isInline reports whether batch is the inline slot.
func (q *sendQueue) isInline(batch [][]byte) bool {
	return cap(batch) == len(q.inline) && &batch[:1][0] == &q.inline[0]
}

func (q *sendQueue) writtenLocked(batch [][]byte) {
	if q.isInline(batch) {
		q.lent = false
	}
	for _, f := range batch {
		q.bytes -= len(f)
	}
	q.frames -= len(batch)
	clear(batch)
}

// size reports the frames and bytes not yet written (after a close that
// discards them, those that were waiting when it closed).
func (q *sendQueue) size() (frames, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.frames, q.bytes
}
