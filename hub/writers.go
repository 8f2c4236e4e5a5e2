package hub

import (
	"sync"
)

// writerPool is the hub's few writer goroutines (Config.Writers). A
// socket with frames to write is put on a first-in, first-out ready list;
// a writer takes it, writes everything queued for it in one system call
// that never waits (the kernel takes it or says it would block), and takes
// the next. A socket that gets more frames while it waits on the list gets
// them in the same write: under load, bursts grow, and the writes per
// delivered event fall.
//
// Few goroutines also keep the scheduler's queues short: a goroutine per
// socket would put thousands ahead of the read loops and the room that
// produce the next event. A socket whose write would block (its client is
// slow), is closing, or cannot be written without waiting for a lock, is
// handed to a goroutine of its own (conn.writer), which waits under the
// write deadline; it gives the socket back when it catches up.
type writerPool struct {
	mu    sync.Mutex
	cond  sync.Cond
	ready []*conn
	head  int
}

func newWriterPool(writers int) *writerPool {
	p := &writerPool{}
	p.cond.L = &p.mu
	for range max(writers, 1) {
		go p.run()
	}
	return p
}

// enqueue puts c at the end of the ready list.
func (p *writerPool) enqueue(c *conn) {
	p.mu.Lock()
	p.ready = append(p.ready, c)
	p.mu.Unlock()
	p.cond.Signal()
}

// takeChunk is the most sockets a writer takes off the ready list at once:
// one lock for many writes, while several writers still share a long list.
const takeChunk = 64

func (p *writerPool) run() {
	chunk := make([]*conn, 0, takeChunk)
	var scratch []byte
	for {
		p.mu.Lock()
		for p.head == len(p.ready) {
			p.cond.Wait()
		}
		end := min(p.head+takeChunk, len(p.ready))
		chunk = append(chunk[:0], p.ready[p.head:end]...)
		clear(p.ready[p.head:end])
		p.head = end
		if p.head == len(p.ready) { // drained: reuse the array from its start
			p.ready, p.head = p.ready[:0], 0
		} else if p.head > 1024 && p.head*2 > len(p.ready) {
			n := copy(p.ready, p.ready[p.head:])
			clear(p.ready[n:])
			p.ready, p.head = p.ready[:n], 0
		}
		p.mu.Unlock()
		for i, c := range chunk {
			c.writeReady(&scratch)
			chunk[i] = nil
		}
	}
}

// writeReady writes what is queued for c without waiting, then puts c back
// on the list if more came meanwhile, or hands it to a goroutine of its own
// if the write would wait.
func (c *conn) writeReady(scratch *[]byte) {
	batch, why, closed, idle := c.q.take(nil)
	switch {
	case idle:
		return
	case closed:
		go c.writerFrom(batch, why, closed)
		return
	}
	var (
		b    *burst
		flat []byte
	)
	if len(batch) == 1 && !isPing(batch[0]) {
		// The usual write of a fan-out, one frame: header and payload laid
		// out in the writer's own buffer, no burst to compose.
		flat = appendHeader((*scratch)[:0], opText, len(batch[0]))
		flat = append(flat, batch[0]...)
		if cap(flat) <= maxScratch {
			*scratch = flat
		}
	} else {
		b = burstPool.Get().(*burst)
		c.compose(b, batch)
		flat = b.flatten()
	}
	n, err, tried := c.nc.tryWrite(flat)
	switch {
	case !tried || (err == nil && n < len(flat)):
		// The rest waits for the client, under the deadline, on a
		// goroutine of its own.
		rest := append([]byte(nil), flat[n:]...)
		b.release()
		go c.writerAfter(rest, batch)
	case err != nil:
		b.release()
		c.q.written(batch)
		c.writeFailed(err)
	default:
		b.release()
		if c.q.writtenMore(batch) {
			c.hub.pool.enqueue(c)
		}
	}
}

// maxScratch bounds the buffer a writer keeps for single frames; a larger
// frame (a joined frame with a big document) gets a buffer of its own.
const maxScratch = 16 << 10
