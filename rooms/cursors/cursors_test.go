package cursors

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotrow/internal/clock"
)

const testRoom = "schema:doc1"

func TestBatchingOneFramePerTickWithLatestPositions(t *testing.T) {
	f := clock.NewFake(t0)
	reg := prometheus.NewRegistry()
	s := newTestService(t, NewMemStore(), f, reg, nil)
	pa, pb := newPeer(), newPeer()
	a := s.Connect("alice", "Alice", pa)
	b := s.Connect("bob", "Bob", pb)
	a.Join(testRoom)
	b.Join(testRoom)

	tickRoom(t, s, f, testRoom)
	for _, p := range []*peer{pa, pb} {
		first := p.next(t)
		if first.Room != testRoom || len(first.Cursors) != 2 || len(first.Gone) != 0 {
			t.Fatalf("first frame = %+v, want both users", first)
		}
		if got := byUser(first)["alice"]; got.Name != "Alice" || !isNull(got.Pos) {
			t.Fatalf("alice before moving = %+v, want name Alice and pos null", got)
		}
	}

	// 100 moves by alice and 3 by bob within one tick: one frame each.
	for i := range 100 {
		if err := a.Move(testRoom, json.RawMessage(fmt.Sprintf(`{"x": %d, "y": 1}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if err := b.Move(testRoom, json.RawMessage(fmt.Sprintf(`{"line":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	pa.none(t)
	tickRoom(t, s, f, testRoom)
	for _, p := range []*peer{pa, pb} {
		fr := p.next(t)
		m := byUser(fr)
		if len(fr.Cursors) != 2 || string(m["alice"].Pos) != `{"x":99,"y":1}` || string(m["bob"].Pos) != `{"line":2}` {
			t.Fatalf("batched frame = %s %s, want the latest positions", m["alice"].Pos, m["bob"].Pos)
		}
		if !m["alice"].At.Equal(t0.Add(s.cfg.Tick)) {
			t.Fatalf("at = %v, want %v", m["alice"].At, t0.Add(s.cfg.Tick))
		}
		p.none(t)
	}

	// A quiet tick sends nothing; the next frame holds only what changed.
	tickRoom(t, s, f, testRoom)
	pa.none(t)
	if err := b.Move(testRoom, json.RawMessage(`{"line":7}`)); err != nil {
		t.Fatal(err)
	}
	tickRoom(t, s, f, testRoom)
	fr := pa.next(t)
	if len(fr.Cursors) != 1 || fr.Cursors[0].User != "bob" || string(fr.Cursors[0].Pos) != `{"line":7}` {
		t.Fatalf("delta frame = %+v, want only bob", fr)
	}
	if pa.drops != 0 || pb.drops != 0 {
		t.Fatal("cursor frames must be sent droppable")
	}
	if got := testutil.ToFloat64(s.m.frames); got != 6 {
		t.Fatalf("hotrow_cursor_frames_total = %v, want 6", got)
	}
}

func TestMoveErrors(t *testing.T) {
	f := clock.NewFake(t0)
	s := newTestService(t, NewMemStore(), f, nil, nil)
	a := s.Connect("alice", "", newPeer())
	if err := a.Move(testRoom, json.RawMessage(`{"x":1}`)); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("move before join: %v, want ErrNotJoined", err)
	}
	a.Join(testRoom)
	big := `{"s":"` + strings.Repeat("x", MaxPos) + `"}`
	for raw, want := range map[string]error{
		`{"x":1}`: nil,
		`{"s":"` + strings.Repeat("x", MaxPos-8) + `"}`: nil,
		"{ \"x\" :\n 1 }": nil, // compacted before measuring
		big:               ErrPosTooBig,
		`[1,2]`:           ErrPosInvalid,
		`null`:            ErrPosInvalid,
		``:                ErrPosInvalid,
		`"x"`:             ErrPosInvalid,
	} {
		if err := a.Move(testRoom, json.RawMessage(raw)); !errors.Is(err, want) {
			t.Errorf("Move(%.20q) = %v, want %v", raw, err, want)
		}
	}
	a.Leave(testRoom)
	if err := a.Move(testRoom, json.RawMessage(`{"x":1}`)); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("move after leave: %v, want ErrNotJoined", err)
	}
}

func TestPresenceJoinLeaveDisconnect(t *testing.T) {
	f := clock.NewFake(t0)
	s := newTestService(t, NewMemStore(), f, nil, nil)
	pa := newPeer()
	a := s.Connect("alice", "Alice", pa)
	a.Join(testRoom)
	tickRoom(t, s, f, testRoom)
	pa.next(t)
	if err := a.Move(testRoom, json.RawMessage(`{"x":5}`)); err != nil {
		t.Fatal(err)
	}
	tickRoom(t, s, f, testRoom)
	pa.next(t)

	// Bob joins with two sockets: he appears once, with pos null; the late
	// joiner sees alice's last position.
	pb1, pb2 := newPeer(), newPeer()
	b1 := s.Connect("bob", "Bob", pb1)
	b2 := s.Connect("bob", "Bob", pb2)
	b1.Join(testRoom)
	b2.Join(testRoom)
	tickRoom(t, s, f, testRoom)
	fr := pa.next(t)
	if len(fr.Cursors) != 1 || fr.Cursors[0].User != "bob" || !isNull(fr.Cursors[0].Pos) {
		t.Fatalf("alice saw %+v, want bob once with pos null", fr)
	}
	late := pb1.next(t)
	if m := byUser(late); len(m) != 2 || string(m["alice"].Pos) != `{"x":5}` {
		t.Fatalf("late joiner got %+v, want alice at x=5 and bob", late)
	}
	pb2.next(t)

	// One of bob's sockets leaves: he is still here.
	b1.Leave(testRoom)
	tickRoom(t, s, f, testRoom)
	pa.none(t)
	// The last one disconnects: bob is gone at the next tick.
	b2.Close()
	tickRoom(t, s, f, testRoom)
	fr = pa.next(t)
	if len(fr.Cursors) != 0 || !slices.Equal(fr.Gone, []string{"bob"}) {
		t.Fatalf("after bob disconnected alice got %+v, want gone [bob]", fr)
	}
	pb1.none(t)
	pb2.none(t)

	// Joining again re-sends everyone to that socket only.
	a.Join(testRoom)
	tickRoom(t, s, f, testRoom)
	if fr := pa.next(t); len(fr.Cursors) != 1 || fr.Cursors[0].User != "alice" {
		t.Fatalf("re-join got %+v", fr)
	}

	// The last member leaving retires the room.
	a.Close()
	tickRoom(t, s, f, testRoom)
	waitFor(t, "the room to retire", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.rooms) == 0
	})
	if got := testutil.ToFloat64(s.m.rooms); got != 0 {
		t.Fatalf("hotrow_cursor_rooms = %v", got)
	}
}

func TestMemStoreFiltersExpired(t *testing.T) {
	m := NewMemStore()
	ctx := t.Context()
	for i, exp := range []time.Duration{-time.Second, 0, time.Second} {
		it := Item{Room: testRoom, User: fmt.Sprint("u", i), Conn: "c", ExpiresAt: t0.Add(exp)}
		if err := m.Put(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.List(ctx, testRoom, t0)
	if err != nil || len(got) != 1 || got[0].User != "u2" {
		t.Fatalf("List = %+v, %v; want only the unexpired u2", got, err)
	}
	if err := m.Delete(ctx, testRoom, "u2", "c"); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.List(ctx, testRoom, t0); len(got) != 0 {
		t.Fatalf("after delete: %+v", got)
	}
}

// Two services on one store stand for two hubs sharing a table.
func TestTwoHubsSeeEachOtherAndDeadHubExpires(t *testing.T) {
	f := clock.NewFake(t0)
	store := NewMemStore()
	h1 := newTestService(t, store, f, nil, func(c *Config) { c.HubID = "h1" })
	h2 := newTestService(t, store, f, nil, func(c *Config) { c.HubID = "h2" })
	pa, pb := newPeer(), newPeer()
	a := h1.Connect("alice", "Alice", pa)
	b := h2.Connect("bob", "Bob", pb)
	a.Join(testRoom)
	b.Join(testRoom)
	if err := b.Move(testRoom, json.RawMessage(`{"x":2}`)); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	waitFor(t, "alice to see bob at x=2", func() bool {
		f.Advance(50 * time.Millisecond)
		for {
			select {
			case fr := <-pa.ch:
				if c, ok := byUser(fr)["bob"]; ok && string(c.Pos) == `{"x":2}` {
					seen["bob"] = true
				}
				continue
			default:
			}
			return seen["bob"]
		}
	})
	b.Close()
	waitFor(t, "alice to see bob gone", func() bool {
		f.Advance(50 * time.Millisecond)
		for {
			select {
			case fr := <-pa.ch:
				if slices.Contains(fr.Gone, "bob") {
					seen["gone"] = true
				}
				continue
			default:
			}
			return seen["gone"]
		}
	})

	// A hub that died without goodbye: its item lingers in the store until
	// its expires_at, then carol is gone.
	now := f.Now()
	dead := Item{Room: testRoom, User: "carol", Conn: "h3.dead.1", Name: "Carol", Pos: json.RawMessage(`{"x":3}`),
		Updated: now, ExpiresAt: now.Add(3 * time.Second)}
	if err := store.Put(t.Context(), dead); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alice to see carol", func() bool {
		f.Advance(50 * time.Millisecond)
		for {
			select {
			case fr := <-pa.ch:
				if _, ok := byUser(fr)["carol"]; ok {
					seen["carol"] = true
				}
				continue
			default:
			}
			return seen["carol"]
		}
	})
	waitFor(t, "carol's cursor to expire", func() bool {
		f.Advance(50 * time.Millisecond)
		for {
			select {
			case fr := <-pa.ch:
				if slices.Contains(fr.Gone, "carol") {
					seen["carol gone"] = true
				}
				continue
			default:
			}
			return seen["carol gone"]
		}
	})
	if f.Now().Before(dead.ExpiresAt) {
		t.Fatalf("carol gone at %v, before her expires_at %v", f.Now(), dead.ExpiresAt)
	}
}

// The writer bounds puts per user and testRoom, coalesces, refreshes before the
// TTL and deletes on leave.
func TestWriterBoundsRefreshesAndDeletes(t *testing.T) {
	f := clock.NewFake(t0)
	store := &countingStore{Store: NewMemStore()}
	reg := prometheus.NewRegistry()
	s := newTestService(t, store, f, reg, func(c *Config) { c.TTL = 9 * time.Second })
	a := s.Connect("alice", "Alice", newPeer())
	a.Join(testRoom)
	waitFor(t, "the join's put", func() bool { return store.puts.Load() == 1 })

	// 30 Hz for 5 s of virtual time: at most one put a second.
	for i := range 150 {
		if err := a.Move(testRoom, json.RawMessage(fmt.Sprintf(`{"x":%d}`, i))); err != nil {
			t.Fatal(err)
		}
		step(t, s, f, time.Second/30, 3)
	}
	if got := store.puts.Load(); got > 1+5+1 {
		t.Fatalf("%d puts in 5s for one user, want at most 1 a second", got)
	}
	if got := testutil.ToFloat64(s.m.writes.WithLabelValues(outcomeCoalesced)); got < 100 {
		t.Fatalf("coalesced = %v, want most of the 150 moves", got)
	}
	// The latest position reaches the store.
	waitFor(t, "the last position to be stored", func() bool {
		f.Advance(100 * time.Millisecond)
		items, _ := store.List(t.Context(), testRoom, f.Now())
		return len(items) == 1 && string(items[0].Pos) == `{"x":149}`
	})

	// Idle but connected: refreshed before it expires.
	for range 400 {
		step(t, s, f, 100*time.Millisecond, 3)
		items, _ := store.List(t.Context(), testRoom, f.Now())
		if len(items) != 1 {
			t.Fatalf("at %v the item expired while connected", f.Now().Sub(t0))
		}
	}

	// Leave deletes it.
	a.Leave(testRoom)
	waitFor(t, "the delete", func() bool {
		f.Advance(100 * time.Millisecond)
		items, _ := store.List(t.Context(), testRoom, f.Now())
		return len(items) == 0 && s.w.pending() == 0
	})
	if got := testutil.ToFloat64(s.m.errors.WithLabelValues(opPut)); got != 0 {
		t.Fatalf("put errors = %v", got)
	}
}

// A failing store never stops cursors on the same hub; failures are counted
// and writes resume when it returns.
func TestStoreOutageKeepsCursorsFlowing(t *testing.T) {
	f := clock.NewFake(t0)
	store := &countingStore{Store: NewMemStore()}
	store.fail.Store(true)
	s := newTestService(t, store, f, nil, nil)
	pa, pb := newPeer(), newPeer()
	a := s.Connect("alice", "", pa)
	b := s.Connect("bob", "", pb)
	a.Join(testRoom)
	b.Join(testRoom)
	tickRoom(t, s, f, testRoom)
	pb.next(t)
	if err := a.Move(testRoom, json.RawMessage(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	tickRoom(t, s, f, testRoom)
	if fr := pb.next(t); string(byUser(fr)["alice"].Pos) != `{"x":1}` {
		t.Fatalf("bob got %+v during the outage", fr)
	}
	waitFor(t, "errors counted", func() bool {
		return testutil.ToFloat64(s.m.errors.WithLabelValues(opPut)) >= 2 &&
			testutil.ToFloat64(s.m.errors.WithLabelValues(opList)) >= 1
	})
	store.fail.Store(false)
	waitFor(t, "writes to recover", func() bool {
		f.Advance(200 * time.Millisecond)
		items, _ := store.List(t.Context(), testRoom, f.Now())
		return len(items) == 2
	})
}
