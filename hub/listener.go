package hub

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Listener wraps ln for an http.Server. A connection whose first request is
// GET path (a WebSocket upgrade, or an attempt at one) is served by the hub
// directly: the request is parsed from a pooled buffer, the socket answered
// through Hub.ServeHTTP, and the connection never reaches net/http. Every
// other connection is handed to the server through Accept with the bytes
// read so far put back, so the HTTP API and the pages see no difference; a
// socket opened later on a connection that began with another request still
// goes through net/http and Hub.ServeHTTP.
//
// Why: per upgrade, net/http runs a goroutine whose stack grows through the
// handler, starts a background read, allocates a 4 KiB reader and writer
// that become garbage at the hijack, and a response writer. In a join storm
// of 10,000 sockets that was a fifth of the hub's CPU, garbage collection
// included, and the storm is as fast as the hub and its clients' CPU allow.
//
// headerTimeout bounds the wait for the first request's line and headers
// (as http.Server.ReadHeaderTimeout does); the first request's headers may
// take http.DefaultMaxHeaderBytes, as net/http allows.
func (h *Hub) Listener(ln net.Listener, path string, headerTimeout time.Duration) net.Listener {
	l := &upgradeListener{Listener: ln, h: h, prefix: "GET " + path, timeout: headerTimeout,
		conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

type upgradeListener struct {
	net.Listener
	h       *Hub
	prefix  string // "GET /ws"
	timeout time.Duration

	conns chan net.Conn // connections for net/http
	errs  chan error    // accept errors, for net/http to judge
	done  chan struct{} // closed by Close
	once  sync.Once
}

// Accept returns the next connection for net/http.
func (l *upgradeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections being looked at are closed.
func (l *upgradeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *upgradeListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			// net/http decides: it retries after a temporary error and
			// stops after any other.
			select {
			case l.errs <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go l.serve(c)
	}
}

// headReaders are the buffers first requests are read through: an upgrade
// gives its buffer back once the socket is answered, unless the client had
// already sent more (then the socket reads the rest from it).
var headReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// maxHead bounds a first request's line and headers, as net/http does
// (http.DefaultMaxHeaderBytes, plus its 4 KiB of slack).
const maxHead = http.DefaultMaxHeaderBytes + 4096

// serve looks at c's first request: an upgrade is the hub's, anything else
// net/http's.
func (l *upgradeListener) serve(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(l.timeout))
	lr := &headLimit{r: c, n: maxHead}
	br := headReaders.Get().(*bufio.Reader)
	br.Reset(lr)
	head, err := br.Peek(len(l.prefix) + 1)
	if err == nil && string(head[:len(l.prefix)]) == l.prefix && (head[len(l.prefix)] == ' ' || head[len(l.prefix)] == '?') {
		l.upgrade(c, br, lr)
		return
	}
	read, _ := br.Peek(br.Buffered())
	rc := &replayConn{Conn: c, pending: bytes.Clone(read)}
	releaseHead(br)
	if err != nil && len(rc.pending) == 0 {
		c.Close() // gone, or silent past the header timeout, before a byte
		return
	}
	_ = c.SetReadDeadline(time.Time{}) // net/http sets its own
	select {
	case l.conns <- rc:
	case <-l.done:
		c.Close()
	}
}

// upgrade serves a connection whose first request is GET path.
func (l *upgradeListener) upgrade(c net.Conn, br *bufio.Reader, lr *headLimit) {
	defer func() {
		// As net/http does for a handler: a panic ends this connection,
		// logged, not the hub.
		if p := recover(); p != nil {
			l.h.cfg.Logger.Error("panic serving a socket's first request", "remote", c.RemoteAddr().String(), "panic", p, "stack", string(debug.Stack()))
			c.Close()
		}
	}()
	req, err := http.ReadRequest(br)
	if err != nil {
		releaseHead(br)
		status := http.StatusBadRequest
		if errors.Is(err, errHeadTooLarge) {
			status = http.StatusRequestHeaderFieldsTooLarge
		}
		l.h.cfg.Logger.Debug("reading a socket's first request failed", "remote", c.RemoteAddr().String(), "err", err)
		w := &rawResponse{conn: c, header: http.Header{}}
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "%d %s", status, http.StatusText(status))
		w.finish(l.h.cfg.Logger)
		return
	}
	lr.n = math.MaxInt64 // the rest is the socket's: no bound but its own
	req.RemoteAddr = c.RemoteAddr().String()
	w := &rawResponse{conn: c, br: br, header: http.Header{}}
	if req.ProtoAtLeast(1, 1) && req.Host == "" {
		// net/http refuses an HTTP/1.1 request without a Host header.
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "missing required Host header")
	} else {
		l.h.ServeHTTP(w, req)
	}
	switch {
	case !w.hijacked:
		releaseHead(br)
		w.finish(l.h.cfg.Logger)
	case w.brFree:
		releaseHead(br)
	}
}

func releaseHead(br *bufio.Reader) {
	br.Reset(nil)
	headReaders.Put(br)
}

// errHeadTooLarge is a first request over maxHead.
var errHeadTooLarge = errors.New("request line and headers too large")

// headLimit bounds what the first request may take; then n is lifted.
type headLimit struct {
	r io.Reader
	n int64
}

func (l *headLimit) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeadTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// rawResponse is the http.ResponseWriter of a first request the hub serves
// itself: an upgrade hijacks it (Hijack); a refusal (the handler's, or of a
// request that could not be read) is buffered and written, with
// Connection: close, by finish.
type rawResponse struct {
	conn     net.Conn
	br       *bufio.Reader
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
	brFree   bool // hijacked, and the socket reads through a reader of its own
}

func (w *rawResponse) Header() http.Header { return w.header }

func (w *rawResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *rawResponse) Write(b []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *rawResponse) SetReadDeadline(t time.Time) error  { return w.conn.SetReadDeadline(t) }
func (w *rawResponse) SetWriteDeadline(t time.Time) error { return w.conn.SetWriteDeadline(t) }

// Hijack hands the connection over, with the reader that holds whatever
// the client sent after its request. The writer is not the socket's: the
// hub's hijacker brings its own.
func (w *rawResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	w.brFree = w.br.Buffered() == 0 // the hijacker then reads through a new, small reader
	_ = w.conn.SetDeadline(time.Time{})
	return w.conn, bufio.NewReadWriter(w.br, nil), nil
}

// finish writes a response that was not an upgrade, and closes.
func (w *rawResponse) finish(log *slog.Logger) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	w.header.Del("Connection")
	w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	w.header.Set("Connection", "close")
	_ = w.header.Write(&b)
	b.WriteString("\r\n")
	b.Write(w.body.Bytes())
	_ = w.conn.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
	if _, err := w.conn.Write(b.Bytes()); err != nil {
		log.Debug("writing a refused socket's answer failed", "remote", w.conn.RemoteAddr().String(), "err", err)
	}
	// Half-close and let the client read the answer before the close,
	// so that its kernel does not turn unread request bytes into a reset.
	go linger(w.conn, closeHandshakeWait)
}

// replayConn is a connection handed to net/http, with the bytes already
// read from it put back in front.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite lets net/http half-close, as it does a TCP connection.
func (c *replayConn) CloseWrite() error { return closeWrite(c.Conn) }

// SyscallConn lets a socket opened on this connection through net/http
// write to the descriptor directly (netConn.tryWrite); reads still come
// through Read.
func (c *replayConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("no file descriptor")
}
