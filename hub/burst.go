package hub

import (
	"net"
	"sync"
)

// A burst is everything one writer takes from the queue at once, written
// with one writev under one deadline: frame headers and payloads back to
// back, nothing copied. For a socket that opted in to batches
// (Options.Batch), consecutive frames become one batch frame:
// {"type":"batch","frames":[f1,f2,...]} (docs/protocol.md, "Connection
// options").
type burst struct {
	hdr  []byte      // every header of the burst, back to back
	bufs net.Buffers // headers and payloads, in write order
	flat []byte      // the same, copied into one buffer (flatten)
	// parts lists the pieces in order; hdr may move while it grows, so bufs
	// is filled in from parts once every header is written.
	parts []part
}

// part is one piece of the burst: a header (hdr[from:to]) or a payload.
type part struct {
	from, to int
	payload  []byte
}

var burstPool = sync.Pool{New: func() any { return &burst{} }}

// maxBatch bounds the payload of one batch frame; a longer burst is split
// into several.
const maxBatch = 64 << 10

var (
	batchOpen  = []byte(`{"type":"batch","frames":[`)
	batchComma = []byte(`,`)
	batchClose = []byte(`]}`)
)

// writeBurst writes frames to the socket back to back, under one deadline,
// waiting for the client as long as that allows.
func (c *conn) writeBurst(frames [][]byte) error {
	b := burstPool.Get().(*burst)
	defer b.release()
	c.compose(b, frames)
	bufs := b.bufs // WriteTo consumes its receiver: b.bufs keeps the array
	return c.nc.writeBuffers(&bufs, c.hub.cfg.WriteTimeout)
}

// compose lays frames out in b as the socket takes them.
func (c *conn) compose(b *burst, frames [][]byte) {
	for i := 0; i < len(frames); {
		f := frames[i]
		switch {
		case isPing(f):
			b.frame(opPing, nil)
			i++
		case c.opts.Batch && i+1 < len(frames) && !isPing(frames[i+1]):
			i = b.batch(frames, i)
		default:
			b.frame(opText, f)
			i++
		}
	}
	b.assemble()
}

// flatten copies the burst into one buffer, for a write that must not wait:
// one system call, whose partial progress is simple to carry on from.
func (b *burst) flatten() []byte {
	for _, p := range b.bufs {
		b.flat = append(b.flat, p...)
	}
	return b.flat
}

// frame adds one frame.
func (b *burst) frame(opcode byte, payload []byte) {
	from := len(b.hdr)
	b.hdr = appendHeader(b.hdr, opcode, len(payload))
	b.parts = append(b.parts, part{from: from, to: len(b.hdr)})
	if len(payload) > 0 {
		b.parts = append(b.parts, part{payload: payload})
	}
}

// batch adds one batch frame holding frames[i:j], as many as fit in
// maxBatch (at least two), and returns j.
func (b *burst) batch(frames [][]byte, i int) int {
	size, j := len(batchOpen)+len(batchClose), i
	for j < len(frames) && !isPing(frames[j]) && (j < i+2 || size+len(frames[j])+1 <= maxBatch) {
		size += len(frames[j]) + 1
		j++
	}
	size-- // no comma before the first frame
	from := len(b.hdr)
	b.hdr = appendHeader(b.hdr, opText, size)
	b.parts = append(b.parts, part{from: from, to: len(b.hdr)}, part{payload: batchOpen})
	for k := i; k < j; k++ {
		if k > i {
			b.parts = append(b.parts, part{payload: batchComma})
		}
		b.parts = append(b.parts, part{payload: frames[k]})
	}
	b.parts = append(b.parts, part{payload: batchClose})
	return j
}

// assemble fills bufs from parts, now that hdr no longer moves.
func (b *burst) assemble() {
	for _, p := range b.parts {
		if p.payload != nil {
			b.bufs = append(b.bufs, p.payload)
		} else {
			b.bufs = append(b.bufs, b.hdr[p.from:p.to])
		}
	}
}

// release empties the burst and returns it to the pool, unless a long
// burst grew it (a socket far behind): that one is left to the collector.
// A nil burst (a frame written without one) is nothing to release.
func (b *burst) release() {
	if b == nil {
		return
	}
	if cap(b.parts) > 256 || cap(b.hdr) > 2048 || cap(b.flat) > 16<<10 {
		return
	}
	clear(b.parts)
	clear(b.bufs)
	b.parts, b.bufs, b.hdr, b.flat = b.parts[:0], b.bufs[:0], b.hdr[:0], b.flat[:0]
	burstPool.Put(b)
}

// pingFrame stands in the send queue for a WebSocket ping (keepalive.go);
// the writer recognises it by identity, and writes a ping frame.
var pingFrame = []byte("ping")

func isPing(f []byte) bool { return len(f) == len(pingFrame) && &f[0] == &pingFrame[0] }
