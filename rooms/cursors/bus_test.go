package cursors

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotrow/internal/clock"
)

// memBus is an in-process Bus: a publish reaches every subscriber of the
// room synchronously.
type memBus struct {
	mu   sync.Mutex
	subs map[string]map[int]func([]byte)
	seq  int
}

func newMemBus() *memBus { return &memBus{subs: map[string]map[int]func([]byte){}} }

func (b *memBus) PublishCursors(room string, batch []byte) error {
	b.mu.Lock()
	var fns []func([]byte)
	for _, fn := range b.subs[room] {
		fns = append(fns, fn)
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(batch)
	}
	return nil
}

func (b *memBus) SubscribeCursors(room string, fn func([]byte)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	id := b.seq
	if b.subs[room] == nil {
		b.subs[room] = map[int]func([]byte){}
	}
	b.subs[room][id] = fn
	return func() { b.mu.Lock(); delete(b.subs[room], id); b.mu.Unlock() }, nil
}

func (b *memBus) subscribers(room string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[room])
}

// tickAll advances the clock by one tick and waits until every service's
// room handled it.
func tickAll(t *testing.T, f *clock.Fake, svcs ...*Service) {
	t.Helper()
	type mark struct {
		r      *room
		before int64
	}
	var marks []mark
	for _, s := range svcs {
		s.mu.Lock()
		if r := s.rooms[testRoom]; r != nil {
			marks = append(marks, mark{r, r.handled.Load()})
		}
		s.mu.Unlock()
	}
	f.Advance(svcs[0].cfg.Tick)
	for _, m := range marks {
		waitFor(t, "the room's tick", func() bool { return m.r.handled.Load() > m.before })
	}
}

// A hub's local joins, moves and leaves reach another hub's sockets one
// tick later through the bus, one batch per room per tick, with no store
// shared between them.
func TestBusCarriesCursorsBetweenHubs(t *testing.T) {
	f := clock.NewFake(t0)
	bus := newMemBus()
	withBus := func(c *Config) { c.Bus = bus; c.PollInterval = time.Hour }
	a := newTestService(t, NewMemStore(), f, nil, withBus)
	b := newTestService(t, NewMemStore(), f, nil, withBus)
	pa, pb := newPeer(), newPeer()
	alice := a.Connect("alice", "Alice", pa)
	bob := b.Connect("bob", "Bob", pb)
	alice.Join(testRoom)
	bob.Join(testRoom)
	waitFor(t, "both rooms on the bus", func() bool { return bus.subscribers(testRoom) == 2 })

	tickAll(t, f, a, b) // each hub publishes its join; each shows its own user
	tickAll(t, f, a, b) // and now the other's
	var last map[string]bool
	waitFor(t, "bob to see alice", func() bool {
		select {
		case fr := <-pb.ch:
			last = map[string]bool{}
			for _, c := range fr.Cursors {
				last[c.User] = true
			}
			return last["alice"]
		default:
			return false
		}
	})

	for i := range 50 {
		if err := alice.Move(testRoom, json.RawMessage(`{"x":`+string(rune('0'+i%10))+`}`)); err != nil {
			t.Fatal(err)
		}
	}
	sentBefore := testutil.ToFloat64(a.m.busBatches.WithLabelValues(dirSent))
	tickAll(t, f, a, b)
	if n := testutil.ToFloat64(a.m.busBatches.WithLabelValues(dirSent)) - sentBefore; n != 1 {
		t.Fatalf("%v batches for 50 moves in one tick, want 1", n)
	}
	tickAll(t, f, a, b)
	waitFor(t, "alice's last move at bob", func() bool {
		select {
		case fr := <-pb.ch:
			c, ok := byUser(fr)["alice"]
			return ok && string(c.Pos) == `{"x":9}`
		default:
			return false
		}
	})

	// Alice leaves hub A: gone at bob's two ticks later, no store involved.
	alice.Leave(testRoom)
	tickAll(t, f, a, b)
	tickAll(t, f, b)
	waitFor(t, "alice gone at bob", func() bool {
		select {
		case fr := <-pb.ch:
			return len(fr.Gone) == 1 && fr.Gone[0] == "alice"
		default:
			return false
		}
	})
	waitFor(t, "hub A's room to unsubscribe", func() bool { return bus.subscribers(testRoom) == 1 })
}

// A user learnt from the bus stays present while the store shows them and
// is dropped busTTL after the last batch when it does not.
func TestBusPresenceExpiresWithoutTheStore(t *testing.T) {
	for _, shared := range []bool{true, false} {
		name := map[bool]string{true: "store shows them", false: "store does not"}[shared]
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			bus := newMemBus()
			withBus := func(c *Config) { c.Bus = bus; c.PollInterval = 200 * time.Millisecond }
			storeA, storeB := NewMemStore(), NewMemStore()
			if shared {
				storeB = storeA
			}
			a := newTestService(t, storeA, f, nil, withBus)
			b := newTestService(t, storeB, f, nil, withBus)
			alice := a.Connect("alice", "Alice", newPeer())
			pb := newPeer()
			b.Connect("bob", "Bob", pb).Join(testRoom)
			alice.Join(testRoom)
			waitFor(t, "both rooms on the bus", func() bool { return bus.subscribers(testRoom) == 2 })
			waitFor(t, "alice's item written", func() bool {
				items, _ := storeA.List(t.Context(), testRoom, f.Now())
				return len(items) >= 1
			})
			gone := false
			// busTTL is 600ms: run well past it (and past several polls).
			for i := 0; i < 30 && !gone; i++ {
				tickAll(t, f, a, b)
				for drained := false; !drained; {
					select {
					case fr := <-pb.ch:
						for _, u := range fr.Gone {
							gone = gone || u == "alice"
						}
					default:
						drained = true
					}
				}
			}
			if gone == shared {
				t.Fatalf("alice gone at bob: %v, want %v", gone, !shared)
			}
		})
	}
}
