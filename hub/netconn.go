package hub

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
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
//
// It also holds back the 101 answer: net/http would write it in a system
// call of its own at the hijack, and the client would wake for it; the hub
// writes it instead with the welcome frame, in one write (Hub.ServeHTTP).
// Any other status (an error answer from Accept) goes through unchanged.
type hijacker struct {
	http.ResponseWriter
	readBuffer int
	conn       *netConn // the socket's, set up by Hijack
	switching  bool     // WriteHeader(101) was called and held back
	upgrade    []byte   // the 101 answer, set by Hijack, for the hub to write
}

func (h *hijacker) WriteHeader(code int) {
	if code == http.StatusSwitchingProtocols {
		h.switching = true
		return
	}
	h.ResponseWriter.WriteHeader(code)
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
	h.conn.init(raw)
	if h.switching {
		h.upgrade = switchingProtocols(h.Header())
	}
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

// switchingProtocols is the 101 answer with header's fields (those
// websocket.Accept set, and any a middleware set before it), as net/http
// would have written it, less its Date.
func switchingProtocols(header http.Header) []byte {
	b := make([]byte, 0, 256)
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\n"...)
	for k, vs := range header {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, headerValue(v)...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// headerValue drops CR and LF from v, as net/http does when it writes a
// header, so that no value can end the answer early.
func headerValue(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
}

// controlFrameMax is the largest control frame: a 2-byte header and 125
// bytes of payload, with room to spare.
const controlFrameMax = 256

// netConn is a hijacked connection whose writes are serialised and each
// bounded by a deadline of its own.
//
// The hub's writers write to its file descriptor directly (tryWrite: one
// send system call that never waits), not through the net package's
// poller, whose locks and bookkeeping cost a tenth of the hub's CPU in a
// fan-out. fdMu keeps the descriptor from being closed, and its number
// reused, during such a send: every close goes through Close.
type netConn struct {
	net.Conn
	fd     int        // the descriptor, when direct
	direct bool       // the connection has a descriptor to send on
	mu     sync.Mutex // one writer at a time: frames go out whole

	fdMu   sync.Mutex // held around a direct send, and by Close
	closed bool
}

// init sets up a netConn allocated with its socket (connMem) for c.
func (nc *netConn) init(c net.Conn) {
	nc.Conn = c
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			_ = raw.Control(func(fd uintptr) { nc.fd, nc.direct = int(fd), true })
		}
	}
}

// Close closes the connection; a direct send under way finishes first.
func (c *netConn) Close() error {
	c.fdMu.Lock()
	c.closed = true
	c.fdMu.Unlock()
	return c.Conn.Close()
}

// CloseWrite half-closes the connection where it can be (TCP).
func (c *netConn) CloseWrite() error { return closeWrite(c.Conn) }

// tryWrite writes b with one attempt that never waits: n bytes were taken
// (all of b, or fewer when the kernel's buffer for the socket is full).
// tried is false when it could not even try (another write holds the
// connection, or there is no descriptor): the caller writes b the waiting
// way.
func (c *netConn) tryWrite(b []byte) (n int, err error, tried bool) {
	if !c.direct || !c.mu.TryLock() {
		return 0, nil, false
	}
	defer c.mu.Unlock()
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	if c.closed {
		return 0, net.ErrClosed, true
	}
	for n < len(b) {
		m, werr := send(c.fd, b[n:])
		switch werr {
		case nil:
			n += m
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
		default:
			err = werr
		}
		break
	}
	return n, err, true
}

// send is send(2) on a non-blocking socket: unlike write(2), it skips the
// file layer (position lock, checks) on its way to TCP. It never blocks, so
// it is made as a raw system call: the goroutine keeps its processor, and
// the runtime's monitor, which would otherwise see a writer in a system
// call on almost every look and wake every 20 µs to take its processor
// back, stays asleep.
func send(fd int, b []byte) (int, error) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
		syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// writeFirst writes b at once, and what the kernel did not take at once
// waiting for the client up to timeout: the first write to a new socket,
// whose buffer is empty, so that it almost never waits.
func (c *netConn) writeFirst(b []byte, timeout time.Duration) error {
	n, err, tried := c.tryWrite(b)
	switch {
	case err != nil:
		return err
	case tried && n == len(b):
		return nil
	}
	return c.writeAll(b[n:], timeout)
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
