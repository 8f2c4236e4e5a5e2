package rooms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotrow/internal/clock"
)

// Config tunes the registry. Zero fields take the defaults.
type Config struct {
	// IdleTimeout stops a room's sequencer this long after its last
	// subscriber left and its last message was handled. Default 30s.
	IdleTimeout time.Duration
	// PollInterval is how often rooms with subscribers look for commits made
	// by other hubs sharing the store, when there is no bus or while it is
	// down. Default 250ms.
	PollInterval time.Duration
	// Bus, when set, carries committed events between hubs (see Bus); nil
	// means this hub learns other hubs' commits by polling alone.
	Bus Bus
	// BusPollInterval is how often rooms poll while the bus is up: the
	// safety net for events the bus lost. Default 2s.
	BusPollInterval time.Duration
	// InboxSize bounds each room's queue of pending messages; its storage
	// grows with what is queued, not allocated up front. Default 1024.
	InboxSize int
	// MaxReplay is the most events a join with since is answered with; a
	// client further behind gets the full state instead. Default 1000.
	MaxReplay int64
	// OpTimeout bounds each read the sequencer makes outside a mutation
	// (loading, filling a gap, replaying). Default 5s.
	OpTimeout time.Duration
	Clock     clock.Clock
	Logger    *slog.Logger
}

func (c *Config) defaults() {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.BusPollInterval <= 0 {
		c.BusPollInterval = 2 * time.Second
	}
	if c.InboxSize <= 0 {
		c.InboxSize = 1024
	}
	if c.MaxReplay <= 0 {
		c.MaxReplay = 1000
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = 5 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Registry owns this hub's room sequencers: it starts one on demand for a
// room, routes messages to it, and stops it when idle.
type Registry struct {
	cfg   Config
	kinds *Kinds
	log   Log
	m     *metrics

	mu       sync.Mutex
	live     map[string]*sequencer
	draining bool
	stop     chan struct{}
	wg       sync.WaitGroup
}

// NewRegistry makes a registry for the given room kinds, reading the event
// log through log. It registers hotrow_rooms{kind}, the events delivered by
// source and the bus's counters (metrics.go) on reg.
func NewRegistry(kinds *Kinds, log Log, reg prometheus.Registerer, cfg Config) *Registry {
	cfg.defaults()
	return &Registry{
		cfg:   cfg,
		kinds: kinds,
		log:   log,
		live:  map[string]*sequencer{},
		stop:  make(chan struct{}),
		m:     newMetrics(reg, kinds.Names()),
	}
}

// Kinds returns the room kinds this registry serves.
func (r *Registry) Kinds() *Kinds { return r.kinds }

// BadRoomError is returned for a malformed room name.
type BadRoomError struct{ Err error }

func (e *BadRoomError) Error() string { return e.Err.Error() }
func (e *BadRoomError) Unwrap() error { return e.Err }

// Join subscribes sub to room. The joined frame (or an error frame) and then
// every event reach sub through Send, in order. The room answers on its own
// goroutine: when Join returns nil, done (if not nil) is called exactly once,
// from the room's goroutine, once the room has decided, with whether sub is
// now subscribed; it must not block. When Join returns an error, the room
// never got the request and done is not called.
func (r *Registry) Join(ctx context.Context, room string, sub Subscriber, since *int64, ref string, done func(joined bool)) error {
	return r.send(ctx, room, request{kind: reqJoin, sub: sub, since: since, ref: ref, done: done})
}

// Leave unsubscribes sub from room; with reply, a left frame follows.
func (r *Registry) Leave(ctx context.Context, room string, sub Subscriber, ref string, reply bool) error {
	return r.send(ctx, room, request{kind: reqLeave, sub: sub, ref: ref, reply: reply})
}

// Mutate queues a message for room. Its ack or reject reaches m.Reply.
func (r *Registry) Mutate(ctx context.Context, room string, m *Mutation) error {
	return r.send(ctx, room, request{kind: reqMutate, m: m})
}

// Snapshot returns the room's committed state as this hub's sequencer holds
// it, after catching up with the store and closing it if it is due.
func (r *Registry) Snapshot(ctx context.Context, room string) (int64, any, error) {
	ch := make(chan snapshot, 1)
	if err := r.send(ctx, room, request{kind: reqSnapshot, snap: ch}); err != nil {
		return 0, nil, err
	}
	select {
	case s := <-ch:
		return s.version, s.state, s.err
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
}

// send routes req to the room's sequencer, starting it if needed. It holds a
// reference on the sequencer while sending so the sequencer cannot retire
// between being found and receiving the request.
func (r *Registry) send(ctx context.Context, room string, req request) error {
	kind, id, err := r.kinds.ParseRoom(room)
	if err != nil {
		return &BadRoomError{err}
	}
	r.mu.Lock()
	if r.draining {
		r.mu.Unlock()
		return ErrDraining
	}
	s := r.live[room]
	if s == nil {
		s = newSequencer(r, room, kind, r.kinds.Get(kind).New(id))
		r.live[room] = s
		r.wg.Add(1)
		r.m.rooms.WithLabelValues(kind).Inc()
		go s.run()
	}
	s.refs++
	r.mu.Unlock()
	defer r.release(s)
	if err := s.inbox.push(ctx, req); err != nil {
		return fmt.Errorf("room %s is busy: %w", room, err)
	}
	return nil
}

func (r *Registry) release(s *sequencer) {
	r.mu.Lock()
	s.refs--
	r.mu.Unlock()
}

// retire removes s when nothing references it and its inbox is empty; the
// sequencer exits only when it returns true.
func (r *Registry) retire(s *sequencer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.refs > 0 || s.inbox.size() > 0 {
		return false
	}
	if r.live[s.room] == s {
		delete(r.live, s.room)
	}
	r.m.rooms.WithLabelValues(s.kind).Dec()
	return true
}

// Run polls the store for commits other hubs made to rooms that have
// subscribers here, so those rooms stay current even when idle locally:
// every PollInterval without a bus or while it is down, every
// BusPollInterval while it is up, and once at once when it comes back up
// (it may have lost events meanwhile). It returns when ctx ends.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	// Ticks between two polls while the bus is up.
	every := max(1, int(r.cfg.BusPollInterval/r.cfg.PollInterval))
	ticks, wasUp := 0, r.cfg.Bus != nil && r.cfg.Bus.Up()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case <-t.C:
			up := r.cfg.Bus != nil && r.cfg.Bus.Up()
			ticks++
			if !up || !wasUp || ticks >= every {
				ticks = 0
				r.pollOnce(ctx)
			}
			wasUp = up
		}
	}
}

func (r *Registry) pollOnce(ctx context.Context) {
	r.mu.Lock()
	watched := make(map[string]*sequencer)
	names := make([]string, 0)
	for name, s := range r.live {
		if s.watched.Load() {
			watched[name] = s
			names = append(names, name)
		}
	}
	r.mu.Unlock()
	if len(names) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	versions, err := r.log.Versions(ctx, names)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			r.cfg.Logger.Warn("polling room versions failed", "rooms", len(names), "err", err)
		}
		return
	}
	for name, v := range versions {
		if s := watched[name]; s != nil && v > s.known.Load() {
			r.nudge(s, v)
		}
	}
}

// nudge asks s to catch up to version v, unless its inbox is full (then it
// is busy and catches up with its next commit anyway).
func (r *Registry) nudge(s *sequencer, v int64) {
	r.mu.Lock()
	if r.draining || r.live[s.room] != s {
		r.mu.Unlock()
		return
	}
	s.refs++
	r.mu.Unlock()
	defer r.release(s)
	s.inbox.offer(request{kind: reqCatchUp, upto: v})
}

// Drain stops taking messages, lets every sequencer finish the transaction
// it is running, answers queued messages with unavailable, and waits for the
// sequencers to exit or ctx to end.
func (r *Registry) Drain(ctx context.Context) error {
	r.mu.Lock()
	if !r.draining {
		r.draining = true
		close(r.stop)
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rooms still running after drain deadline: %w", ctx.Err())
	}
}

// Live reports how many rooms have a running sequencer.
func (r *Registry) Live() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}
