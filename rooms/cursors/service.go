package cursors

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotrow/internal/clock"
	"hotrow/internal/randid"
)

// Peer is a socket as cursors see it (a rooms.Subscriber is one). Send must
// not block; cursor frames are sent with droppable set.
type Peer interface {
	Send(frame []byte, droppable bool) bool
}

// LazyPeer is a Peer that can hold a frame back for its next write (a
// short while at most): a room's presence count to all its sockets goes
// that way, so that in a busy room it rides with the next event instead of
// costing every socket a write of its own. A joiner's count is sent at once.
type LazyPeer interface {
	Peer
	SendLazy(frame []byte) bool
}

// Config tunes the service. Zero fields take the defaults.
type Config struct {
	// HubID names this hub; it prefixes the connection ids written to the
	// store (with a random suffix per process).
	HubID string
	// Tick is the batching period: a room sends at most one cursors frame
	// per Tick. Default 50ms.
	Tick time.Duration
	// TTL is how long a stored item counts without being refreshed: the
	// time a dead hub's cursors linger. Default 30s.
	TTL time.Duration
	// WriteInterval is the least time between two puts for one user in one
	// room; moves in between are coalesced. Default 1s.
	WriteInterval time.Duration
	// RefreshInterval is how often a connected socket's item is rewritten
	// to push its expires_at forward. Default TTL/3; at most TTL/2.
	RefreshInterval time.Duration
	// PollInterval is how often a room with members reads the store to
	// show users of other hubs. Default 1s.
	PollInterval time.Duration
	// StoreTimeout bounds one store operation. Default 2s.
	StoreTimeout time.Duration
	// StoreWorkers bounds the store operations in flight. Default 8.
	StoreWorkers int
	// Listed is, per room kind (the room name before ':'), the most users
	// cursors frames list; everyone present is counted in presence frames.
	// A kind not in the map lists up to DefaultListed; 0 lists no one (an
	// auction's watchers share no cursors: the room shows a count only).
	Listed map[string]int
	// PresenceInterval is the least time between two presence frames to a
	// room's sockets, for every 1,000 of them: a room of 10,000 sockets
	// gets the count at most every 10 intervals, so the presence bytes of
	// a join storm grow with the joiners, not with their square. A joiner
	// gets the count at once. Default 1s.
	PresenceInterval time.Duration
	// Bus, when set, carries each room's batch to the other hubs at every
	// tick (bus.go); nil leaves the store alone to share cursors between
	// hubs.
	Bus    Bus
	Clock  clock.Clock
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Tick <= 0 {
		c.Tick = 50 * time.Millisecond
	}
	if c.TTL <= 0 {
		c.TTL = 30 * time.Second
	}
	if c.WriteInterval <= 0 {
		c.WriteInterval = time.Second
	}
	if c.RefreshInterval <= 0 || c.RefreshInterval > c.TTL/2 {
		c.RefreshInterval = c.TTL / 3
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = 2 * time.Second
	}
	if c.StoreWorkers <= 0 {
		c.StoreWorkers = 8
	}
	if c.PresenceInterval <= 0 {
		c.PresenceInterval = time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HubID == "" {
		c.HubID = "hub"
	}
}

// DefaultListed is the most users a cursors frame lists in a room whose
// kind Config.Listed does not name: a document with more collaborators
// than that shows the first DefaultListed to arrive (others take a place as
// it frees) and counts the rest.
const DefaultListed = 32

// listed is the most users room lists.
func (c *Config) listed(room string) int {
	kind, _, _ := strings.Cut(room, ":")
	if n, ok := c.Listed[kind]; ok {
		return max(n, 0)
	}
	return DefaultListed
}

// Service shares cursors and presence for every room on this hub.
type Service struct {
	cfg      Config
	store    Store
	m        *metrics
	w        *writer
	instance string // prefix of this process's connection ids
	nextConn atomic.Uint64

	mu     sync.Mutex
	rooms  map[string]*room
	closed bool
	wg     sync.WaitGroup // room goroutines and polls
}

// New makes a cursor service over store (a *MemStore for one process, the
// DynamoDB store for a fleet) and registers its metrics on reg (may be nil).
// Call Close on shutdown.
func New(store Store, reg prometheus.Registerer, cfg Config) *Service {
	cfg.defaults()
	m := newMetrics(reg)
	return &Service{cfg: cfg, store: store, m: m,
		w:        newWriter(store, cfg.Clock, cfg.Logger, m, &cfg),
		instance: sanitize(cfg.HubID) + "." + randid.New(8),
		rooms:    map[string]*room{}}
}

// Config returns the configuration in use, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Close stops every room, deletes this hub's items from the store (within
// ctx) and stops the writer. Sockets should be closed first.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, r := range s.rooms {
		close(r.quit)
	}
	s.rooms = map[string]*room{}
	s.mu.Unlock()
	s.wg.Wait()
	s.m.rooms.Set(0)

	s.w.removeAll()
	var err error
	for s.w.pending() > 0 {
		if err = ctx.Err(); err != nil {
			break
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		s.w.kick()
	}
	s.w.close()
	return err
}

// Connect registers a socket of user (display name) and returns its handle.
func (s *Service) Connect(user, name string, p Peer) *Conn {
	if name == "" {
		name = user
	}
	id := s.instance + "." + strconv.FormatUint(s.nextConn.Add(1), 36)
	return &Conn{svc: s, id: id, user: user, name: name, peer: p, rooms: map[string]*room{}}
}

// ownConn reports a connection id issued by this process.
func (s *Service) ownConn(id string) bool { return strings.HasPrefix(id, s.instance+".") }

// Conn is one socket's cursor handle. Its methods are safe for concurrent
// use.
type Conn struct {
	svc        *Service
	id         string
	user, name string
	peer       Peer

	mu    sync.Mutex
	rooms map[string]*room
}

// ID is the connection id written to the store.
func (c *Conn) ID() string { return c.id }

// Join makes the socket a member of room: its user appears to the others
// at the next tick and the socket then gets everyone's cursors. Joining
// again re-sends everyone's cursors.
func (c *Conn) Join(name string) {
	s := c.svc
	c.mu.Lock()
	defer c.mu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	r := s.rooms[name]
	if r == nil {
		r = newRoom(s, name)
		s.rooms[name] = r
		s.m.rooms.Inc()
		s.wg.Add(1)
		go r.run()
	}
	r.join(c)
	s.mu.Unlock()
	c.rooms[name] = r
}

// Greet sends the socket, now, the first frames a joiner gets in room (the
// listed users, where the room lists any, and the count), instead of at the
// next tick. The hub calls it right behind the joined frame, so that the
// three go out in one write; a socket that is not greeted gets them at the
// next tick.
func (c *Conn) Greet(name string) {
	c.mu.Lock()
	r := c.rooms[name]
	c.mu.Unlock()
	if r != nil {
		r.greet(c)
	}
}

// Leave takes the socket out of room.
func (c *Conn) Leave(name string) {
	c.mu.Lock()
	r := c.rooms[name]
	delete(c.rooms, name)
	c.mu.Unlock()
	if r != nil {
		r.leave(c)
	}
}

// Move sets the socket's cursor in room to pos, a JSON object of at most
// MaxPos bytes. It returns ErrNotJoined, ErrPosInvalid, ErrPosTooBig or
// ErrClosed.
func (c *Conn) Move(name string, pos json.RawMessage) error {
	c.mu.Lock()
	r := c.rooms[name]
	c.mu.Unlock()
	if r == nil {
		c.svc.mu.Lock()
		closed := c.svc.closed
		c.svc.mu.Unlock()
		if closed {
			return ErrClosed
		}
		return ErrNotJoined
	}
	p, err := NormalizePos(pos)
	if err != nil {
		return err
	}
	return r.move(c, p)
}

// Close leaves every room (the socket is gone).
func (c *Conn) Close() {
	c.mu.Lock()
	rs := c.rooms
	c.rooms = map[string]*room{}
	c.mu.Unlock()
	for _, r := range rs {
		r.leave(c)
	}
}

func (c *Conn) item(room string, pos json.RawMessage, at time.Time) Item {
	return Item{Room: room, User: c.user, Conn: c.id, Name: c.name, Pos: pos, Updated: at}
}

func sanitize(s string) string {
	b := []byte(s)
	for i, ch := range b {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}
