// Package hub accepts WebSocket connections at /ws and speaks the wire
// protocol (package wire) with them: identity, the per-connection read and
// write loops with a bounded send queue, join and leave, and the routing of
// bids and edits to their rooms. Rooms do the rest.
package hub

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"hotrow/hub/auth"
	"hotrow/hub/wire"
	"hotrow/internal/clientaddr"
	"hotrow/internal/clock"
	"hotrow/internal/randid"
	"hotrow/rooms"
	"hotrow/rooms/cursors"
)

// Rooms is what the hub needs of the room registry.
type Rooms interface {
	Kinds() *rooms.Kinds
	Join(ctx context.Context, room string, sub rooms.Subscriber, since *int64, ref string, done func(joined bool)) error
	Leave(ctx context.Context, room string, sub rooms.Subscriber, ref string, reply bool) error
	Mutate(ctx context.Context, room string, m *rooms.Mutation) error
}

// Config tunes the hub. Zero fields take the defaults.
type Config struct {
	HubID       string // this instance's id, sent in welcome
	Server      string // "hotrow/<version>"
	TokenSecret []byte // when set, ?token= (HS256 JWT) is required
	// Auth checks tokens and holds the default rights; when nil, it is made
	// from TokenSecret with auth.DefaultRights (watch and every op on every
	// room). Without a secret (development) every socket has every right.
	Auth *auth.Verifier
	// ReadLimit is the largest frame a client may send; a larger one closes
	// the socket with 1009. Default 16 KiB.
	ReadLimit int64
	// SendQueue and SendQueueBytes bound what may wait for a slow socket,
	// queued or being written: a frame finding SendQueue frames, or at least
	// SendQueueBytes bytes, waiting closes the socket with 1008 (a droppable
	// cursor batch is dropped already at half of either). One frame larger
	// than SendQueueBytes (a joined frame with a big document) still goes to
	// a socket that keeps up. Default 512 frames and 1 MiB: a socket 512
	// auction events (about 280 KB) or 1 MiB behind is not keeping up.
	SendQueue      int
	SendQueueBytes int
	// WriteTimeout bounds writing one burst: every frame queued when the
	// writer starts, written back to back. Default 10s.
	WriteTimeout time.Duration
	// PingInterval is how often every socket is pinged; PongWait how long
	// the hub waits for the answer before it closes the socket. A peer
	// that is gone is closed within PingInterval + PongWait. Default 25s
	// and 10s.
	PingInterval, PongWait time.Duration
	// Writers is how many goroutines write the sockets that have frames
	// waiting (hub/writers.go). Default half the processors, at least one:
	// a write is a system call, the other processors read the sockets, run
	// the rooms and commit, and with fewer writers a socket that is behind
	// gets more of its frames in one write. Measured with make bench on two
	// processors, 10,000 sockets, 10 events a second, alternating: one
	// writer cost 0.92 of the CPU per delivered event two cost (7.8 against
	// 8.5 µs, medians of four pairs of runs, cheaper in each pair); two
	// delivered sooner at the p99 while the machine had a processor to
	// spare, later once it had none.
	Writers int
	// ReadBuffer is each socket's read buffer. Default 1 KiB: client
	// messages are small, and a larger one is read through it in pieces.
	ReadBuffer int
	// RateLimit and RateBurst bound the messages a socket may send a second;
	// over it, messages get a rate_limited error. Default 100/s, burst 200.
	RateLimit, RateBurst float64
	// ConnRate and ConnBurst bound the new sockets one client address may
	// open a second (over it: 429 with Retry-After). Default 20/s, bursts
	// of 300; a negative ConnRate means no limit.
	ConnRate  float64
	ConnBurst int
	// MaxConns bounds the sockets open on this hub (over it: 503), and
	// MaxConnsPerAddr those of one client address (over it: 429). Defaults
	// 10,000 and 500; negative means no bound.
	MaxConns, MaxConnsPerAddr int
	// ClientAddr is the client address of a request, for the per-address
	// limits; default the connection's peer address.
	ClientAddr func(*http.Request) string
	// MaxRoomsPerConn bounds the rooms one socket may join. Default 64.
	MaxRoomsPerConn int
	// EnqueueTimeout bounds waiting for a busy room's queue. Default 2s.
	EnqueueTimeout time.Duration
	// AllowOrigins are extra origin patterns accepted for cross-origin
	// browsers (same-origin is always accepted).
	AllowOrigins []string
	Clock        clock.Clock
	Logger       *slog.Logger
	// NewID returns n random characters (guest names); default crypto/rand.
	NewID func(n int) string
	// Cursors shares cursors and presence (docs/protocol.md, "Cursors and presence");
	// nil disables them: cursor messages get a bad_request error.
	Cursors *cursors.Service
}

func (c *Config) defaults() {
	if c.ReadLimit <= 0 {
		c.ReadLimit = 16 << 10
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 512
	}
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = 1 << 20
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PongWait <= 0 {
		c.PongWait = 10 * time.Second
	}
	if c.ReadBuffer <= 0 {
		c.ReadBuffer = 1 << 10
	}
	if c.Writers <= 0 {
		c.Writers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if c.RateLimit == 0 {
		c.RateLimit, c.RateBurst = 100, 200
	}
	if c.RateBurst < 1 {
		c.RateBurst = c.RateLimit
	}
	if c.ConnRate == 0 {
		c.ConnRate, c.ConnBurst = 20, 300
	}
	if c.ConnBurst < 1 {
		c.ConnBurst = max(1, int(c.ConnRate))
	}
	if c.MaxConns == 0 {
		c.MaxConns = 10_000
	}
	if c.MaxConnsPerAddr == 0 {
		c.MaxConnsPerAddr = 500
	}
	if c.ClientAddr == nil {
		c.ClientAddr = clientaddr.Resolver{}.Addr
	}
	if c.MaxRoomsPerConn <= 0 {
		c.MaxRoomsPerConn = 64
	}
	if c.EnqueueTimeout <= 0 {
		c.EnqueueTimeout = 2 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.NewID == nil {
		c.NewID = randid.New
	}
	if c.Server == "" {
		c.Server = "hotrow/dev"
	}
}

// Hub is the WebSocket endpoint.
type Hub struct {
	cfg   Config
	rooms Rooms
	m     *metrics
	auth  *auth.Verifier

	admit *admission

	mu       sync.Mutex
	conns    map[*conn]struct{}
	stopped  bool
	inflight sync.WaitGroup
	stopKA   chan struct{} // closed by Drain: ends the keepalive goroutine
	pool     *writerPool
	lazy     *lazyFlusher
}

// New makes a hub serving the rooms of r; it registers its metrics on reg.
// It starts the keepalive goroutine, which Drain (or CloseAll) stops.
func New(r Rooms, reg prometheus.Registerer, cfg Config) *Hub {
	cfg.defaults()
	v := cfg.Auth
	if v == nil {
		v = &auth.Verifier{Secret: cfg.TokenSecret, Default: auth.DefaultRights(r.Kinds().OpTypes()), Clock: cfg.Clock}
	}
	h := &Hub{cfg: cfg, rooms: r, m: newMetrics(reg, r.Kinds().OpTypes()), auth: v, admit: newAdmission(cfg),
		conns: map[*conn]struct{}{}, stopKA: make(chan struct{}), pool: newWriterPool(cfg.Writers)}
	h.lazy = &lazyFlusher{clock: cfg.Clock, delay: lazyDelay, pool: h.pool, stop: h.stopKA}
	go h.keepalive(h.stopKA)
	return h
}

// ServeHTTP upgrades GET /ws to a WebSocket and hands it to a goroutine of
// its own, which serves it until it closes. ServeHTTP then returns, so that
// net/http lets go of the request and of the goroutine that read it (whose
// stack grew parsing the headers): an idle socket keeps only what it needs.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	addr := h.cfg.ClientAddr(r)
	if no := h.admit.admit(addr, h.cfg.Clock.Now()); no != nil {
		no.write(w)
		return
	}
	// The address's socket slot is given back when the socket ends (serve),
	// or here when it never starts.
	serving := false
	defer func() {
		if !serving {
			h.admit.release(addr)
		}
	}()
	id, status, err := h.identify(r)
	if err != nil {
		httpError(w, status, err.Error())
		return
	}
	opts, err := parseOptions(r.URL.Query())
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		httpError(w, http.StatusServiceUnavailable, "the hub is shutting down: connect to another")
		return
	}
	h.inflight.Add(1)
	h.mu.Unlock()

	// The HTTP server's read and write timeouts are for requests; a socket
	// lives on after the upgrade, so its connection gets no deadline (the
	// writer bounds each write itself).
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	c := newConn(h, nil, id)
	c.opts, c.addr = opts, addr
	hj := &hijacker{ResponseWriter: w, readBuffer: h.cfg.ReadBuffer, conn: c.nc}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.AllowOrigins,
		OnPongReceived: func(context.Context, []byte) { c.alive.heard() }})
	if err != nil {
		h.inflight.Done()
		return // Accept has written the HTTP error.
	}
	ws.SetReadLimit(h.cfg.ReadLimit)
	c.ws = ws
	c.alive.lastPing = h.cfg.Clock.Now()
	// The 101 answer and the welcome go out in one write, before anything
	// else can be queued for the socket (nothing knows of it yet): one
	// system call, and one wake-up of the client, instead of two.
	welcome := wire.Welcome{Type: "welcome", User: id.User, Hub: h.cfg.HubID, Server: h.cfg.Server}
	if !id.Expires.IsZero() {
		exp := id.Expires.UTC()
		welcome.Exp = &exp
	}
	payload := wire.Encode(welcome)
	first := appendHeader(hj.upgrade, opText, len(payload))
	if err := c.nc.writeFirst(append(first, payload...), h.cfg.WriteTimeout); err != nil {
		h.cfg.Logger.Debug("writing the welcome failed", "user", id.User, "err", err)
		_ = ws.CloseNow() // no read loop runs yet: it does not wait
		h.inflight.Done()
		return
	}
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		c.disconnect(disconnectShutdown)
		<-c.done
		h.inflight.Done()
		return
	}
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	if h.cfg.Cursors != nil {
		c.cur = h.cfg.Cursors.Connect(id.User, id.Name, c)
	}
	h.m.connections.Inc()
	serving = true
	go c.watchExpiry()
	go c.serve()
}

// serve reads the socket until it ends, then leaves its rooms and waits
// for the writer to close it.
func (c *conn) serve() {
	h := c.hub
	defer h.inflight.Done()
	defer h.admit.release(c.addr)
	c.readLoop()
	c.readEnded.Store(true)
	// The client closed the socket or went away, unless the server was
	// already closing it (then this changes nothing).
	c.disconnect(disconnectClient)
	c.leaveAll()
	<-c.done
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.m.connections.Dec()
	// When the hub dropped the connection itself (finish), coder/websocket's
	// own close never ran, and its Conn keeps the finalizer it set at Accept.
	// The Conn and this socket point at each other (OnPongReceived), and a
	// cycle through a finalizer is never collected: every socket that ended
	// without a close frame from us stayed in memory, about 5 KB each,
	// found by make soak. CloseNow runs that close; the connection is
	// closed already and the read loop has ended, so it does not wait for
	// the client. Off this goroutine all the same, so that a drain never
	// waits on it.
	go func() { _ = c.ws.CloseNow() }()
}

// Drain stops accepting sockets: new ones get 503.
func (h *Hub) Drain() {
	h.mu.Lock()
	if !h.stopped {
		h.stopped = true
		close(h.stopKA)
	}
	h.mu.Unlock()
}

// openConns is the sockets open now, taken under the lock so that the
// caller can work on them without holding it.
func (h *Hub) openConns() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	all := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		all = append(all, c)
	}
	return all
}

// CloseAll closes every socket with 1012 (reconnect and re-join with since)
// after writing what is queued for it, and waits for them to finish or ctx
// to end.
func (h *Hub) CloseAll(ctx context.Context) {
	h.Drain()
	for _, c := range h.openConns() {
		c.disconnect(disconnectShutdown)
	}
	done := make(chan struct{})
	go func() { h.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		h.mu.Lock()
		for c := range h.conns {
			c.ws.CloseNow()
		}
		h.mu.Unlock()
	}
}

// Connections reports the open sockets.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func httpError(w http.ResponseWriter, status int, msg string) {
	code := wire.CodeBadRequest
	switch status {
	case http.StatusUnauthorized:
		code = wire.CodeUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="hotrow"`)
	case http.StatusForbidden:
		code = wire.CodeForbidden
	case http.StatusTooManyRequests:
		code = wire.CodeRateLimited
	case http.StatusServiceUnavailable:
		code = wire.CodeUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
