package cursors

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotrow/hub/wire"
	"hotrow/internal/clock"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// peer records the frames sent to it: cursors frames on ch, presence
// counts on counts.
type peer struct {
	mu     sync.Mutex
	frames [][]byte
	ch     chan wire.Cursors
	counts chan wire.Presence
	drops  int // droppable=false frames (must stay 0)
}

func newPeer() *peer {
	return &peer{ch: make(chan wire.Cursors, 1024), counts: make(chan wire.Presence, 1024)}
}

func (p *peer) Send(frame []byte, droppable bool) bool {
	p.mu.Lock()
	p.frames = append(p.frames, frame)
	if !droppable {
		p.drops++
	}
	p.mu.Unlock()
	var c wire.Cursors
	if err := json.Unmarshal(frame, &c); err != nil {
		panic(err)
	}
	if c.Type == "presence" {
		var n wire.Presence
		_ = json.Unmarshal(frame, &n)
		p.counts <- n
		return true
	}
	p.ch <- c
	return true
}

// count waits for the next presence frame.
func (p *peer) count(t testing.TB) int {
	t.Helper()
	select {
	case n := <-p.counts:
		return n.Count
	case <-time.After(5 * time.Second):
		t.Fatal("no presence frame")
		return 0
	}
}

// noCount checks that no presence frame is waiting.
func (p *peer) noCount(t testing.TB) {
	t.Helper()
	select {
	case n := <-p.counts:
		t.Fatalf("unexpected presence frame %+v", n)
	default:
	}
}

// next waits for the next frame (the timeout only bounds a failing test).
func (p *peer) next(t testing.TB) wire.Cursors {
	t.Helper()
	select {
	case c := <-p.ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no cursors frame")
		return wire.Cursors{}
	}
}

// none checks that no frame is waiting.
func (p *peer) none(t testing.TB) {
	t.Helper()
	select {
	case c := <-p.ch:
		t.Fatalf("unexpected frame %+v", c)
	default:
	}
}

func newTestService(t testing.TB, store Store, c clock.Clock, reg prometheus.Registerer, mut func(*Config)) *Service {
	t.Helper()
	cfg := Config{HubID: "test", Clock: c}
	if mut != nil {
		mut(&cfg)
	}
	s := New(store, reg, cfg)
	t.Cleanup(func() { _ = s.Close(t.Context()) })
	return s
}

// tickRoom advances the fake clock by one tick and waits until the room
// has handled it (sent its frames, armed its next tick).
func tickRoom(t testing.TB, s *Service, f *clock.Fake, name string) {
	t.Helper()
	s.mu.Lock()
	r := s.rooms[name]
	s.mu.Unlock()
	if r == nil {
		f.Advance(s.cfg.Tick)
		return
	}
	before := r.handled.Load()
	f.Advance(s.cfg.Tick)
	waitFor(t, "the room's tick", func() bool { return r.handled.Load() > before })
}

func byUser(c wire.Cursors) map[string]wire.Cursor {
	m := map[string]wire.Cursor{}
	for _, x := range c.Cursors {
		m[x.User] = x
	}
	return m
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// step advances the fake clock by d and waits until the timers that fired
// are armed again (timers is how many there are when everything is idle)
// and the writer's operations have finished.
func step(t testing.TB, s *Service, f *clock.Fake, d time.Duration, timers int) {
	t.Helper()
	f.Advance(d)
	waitFor(t, "the timers to be re-armed", func() bool { return f.Timers() >= timers })
	waitFor(t, "the writer's operations", func() bool {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		return s.w.busy == 0
	})
}

func isNull(p json.RawMessage) bool { return p == nil || string(p) == "null" }
