package hub

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// The hub writes its data frames itself, and leaves reading, the opening
// handshake, pong replies and the closing handshake to coder/websocket.
// coder/websocket writes each frame with its own context, timer and flush:
// one write system call per frame. The hub instead writes everything
// queued for a socket as one burst: every frame's header and payload
// handed to the kernel in one writev, under one write deadline (see
// conn.writeBurst). Both write through netConn, whose lock keeps a control
// frame coder/websocket writes (a pong, a close) whole between two bursts.

// hijacker wraps the ResponseWriter handed to websocket.Accept so that the
// hijacked connection is the hub's netConn, and the buffers around it are
// small: the 4 KiB reader and writer net/http hands over with a hijacked
// connection are each socket's largest allocations, and an idle socket
// needs neither (see Config.ReadBuffer).
type hijacker struct {
	http.ResponseWriter
	readBuffer int
	conn       *netConn // set by Hijack
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be hijacked")
	}
	raw, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = newNetConn(raw)
	// A client that sent bytes after its request without waiting for the
	// answer keeps net/http's reader, which holds them (coder/websocket
	// reads them first); every other gets a small one.
	r := brw.Reader
	if r.Buffered() == 0 {
		r = bufio.NewReaderSize(h.conn, h.readBuffer)
	}
	// coder/websocket writes only control frames through this writer (a
	// header and at most 125 bytes), each flushed at once: it must hold
	// one whole, so that it reaches netConn in one Write.
	w := bufio.NewWriterSize(h.conn, controlFrameMax)
	return h.conn, bufio.NewReadWriter(r, w), nil
}

// controlFrameMax is the largest control frame: a 2-byte header and 125
// bytes of payload, with room to spare.
const controlFrameMax = 256

// netConn is a hijacked connection whose writes are serialised and each
// bounded by a deadline of its own.
type netConn struct {
	net.Conn
	raw syscall.RawConn // nil when the connection has no file descriptor
	mu  sync.Mutex
}

func newNetConn(c net.Conn) *netConn {
	nc := &netConn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		nc.raw, _ = sc.SyscallConn()
	}
	return nc
}

// tryWrite writes b with one attempt that never waits: n bytes were taken
// (all of b, or fewer when the kernel's buffer for the socket is full).
// tried is false when it could not even try (another write holds the
// connection, or there is no descriptor): the caller writes b the waiting
// way.
func (c *netConn) tryWrite(b []byte) (n int, err error, tried bool) {
	if c.raw == nil || !c.mu.TryLock() {
		return 0, nil, false
	}
	defer c.mu.Unlock()
	cerr := c.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, werr := syscall.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			switch werr {
			case nil:
				continue
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
			default:
				err = werr
			}
			break
		}
		return true // one attempt: never wait for the socket
	})
	if err == nil {
		err = cerr
	}
	return n, err, true
}

// writeAll writes b, waiting for the client up to timeout.
func (c *netConn) writeAll(b []byte, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.Conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.Conn.Write(b)
	return err
}

// controlWriteTimeout bounds a control frame written by coder/websocket.
const controlWriteTimeout = 5 * time.Second

// Write writes what coder/websocket flushes: one whole control frame.
func (c *netConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.Conn.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
	return c.Conn.Write(p)
}

// writeBuffers writes bufs back to back (one writev on a TCP connection)
// under one deadline, timeout from now.
func (c *netConn) writeBuffers(bufs *net.Buffers, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.Conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := bufs.WriteTo(c.Conn)
	return err
}

// WebSocket opcodes the hub writes (RFC 6455, section 5.2).
const (
	opText = 0x1
	opPing = 0x9
)

// appendHeader appends the header of an unmasked, final server frame
// carrying n bytes.
func appendHeader(b []byte, opcode byte, n int) []byte {
	b = append(b, 0x80|opcode)
	switch {
	case n <= 125:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}
