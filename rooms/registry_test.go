package rooms_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotrow/internal/clock"
	"hotrow/internal/testkit"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
	"hotrow/txn/memstore"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const room = "auction:a1"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// frame is any server frame, decoded loosely.
type frame struct {
	Type      string          `json:"type"`
	Ref       string          `json:"ref"`
	Room      string          `json:"room"`
	Version   int64           `json:"version"`
	Kind      string          `json:"kind"`
	Recovered bool            `json:"recovered"`
	Code      string          `json:"code"`
	Reason    string          `json:"reason"`
	Message   string          `json:"message"`
	ID        string          `json:"id"`
	Attempts  int             `json:"attempts"`
	Min       string          `json:"min"`
	State     json.RawMessage `json:"state"`
}

// sub is a rooms.Subscriber that records every frame it is sent.
type sub struct {
	name   string
	mu     sync.Mutex
	frames []frame
	closes []int
}

func (s *sub) Send(b []byte, droppable bool) bool {
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		panic(fmt.Sprintf("%s: undecodable frame %s: %v", s.name, b, err))
	}
	s.mu.Lock()
	s.frames = append(s.frames, f)
	s.mu.Unlock()
	return true
}

func (s *sub) Close(code int, reason string) {
	s.mu.Lock()
	s.closes = append(s.closes, code)
	s.mu.Unlock()
}

func (s *sub) all() []frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]frame(nil), s.frames...)
}

func (s *sub) find(typ, id string) (frame, bool) {
	for _, f := range s.all() {
		if f.Type == typ && (id == "" || f.ID == id) {
			return f, true
		}
	}
	return frame{}, false
}

// events returns the versions of the event frames received, in order.
func (s *sub) events() []int64 {
	var out []int64
	for _, f := range s.all() {
		if f.Type == "event" {
			out = append(out, f.Version)
		}
	}
	return out
}

func (s *sub) kinds(kind string) int {
	n := 0
	for _, f := range s.all() {
		if f.Type == "event" && f.Kind == kind {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds; the deadline is generous and only
// reached when the code under test is broken.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// world is one store shared by any number of hubs, on one fake clock that
// is both the hubs' clock and the database's.
type world struct {
	*testkit.World
	clk *clock.Fake
}

func newWorld(t *testing.T) *world {
	clk := clock.NewFake(t0)
	w := &world{World: testkit.NewWorld(t, clk), clk: clk}
	w.Logger = quiet
	return w
}

// create commits auction a1 ending in 5 minutes at 100.00 by 5.00, with no
// anti-snipe so deadlines stay where the test puts them.
func (w *world) create() auction.Auction { return w.createWith(0, 0) }

func (w *world) createWith(window, extend int) auction.Auction {
	dur := 300
	return w.Auction(auction.CreateRequest{ID: "a1", Title: "Lamp", StartingPrice: "100.00", Increment: "5.00",
		DurationS: &dur, AntiSnipeWindowS: &window, AntiSnipeExtendS: &extend})
}

type hub struct {
	*rooms.Registry
	prom    *prometheus.Registry
	metrics *txn.Metrics
	engines int // engines made, guarded by mu
	mu      sync.Mutex
}

func (w *world) hub(cfg rooms.Config) *hub {
	h := &hub{prom: prometheus.NewRegistry(), metrics: txn.NewMetrics(nil)}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = time.Hour
	}
	k := auction.RoomKind(w.Store.Auctions(), w.Deps(h.metrics))
	f := k.New
	k.New = func(id string) rooms.Engine {
		h.mu.Lock()
		h.engines++
		h.mu.Unlock()
		return f(id)
	}
	h.Registry = w.Registry(rooms.MustKinds(k), h.prom, cfg)
	return h
}

func (h *hub) roomsGauge(t *testing.T) float64 {
	t.Helper()
	mfs, err := h.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "hotrow_rooms" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == "auction" {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatal("no hotrow_rooms{kind=auction}")
	return 0
}

func join(t *testing.T, h *hub, s *sub, since *int64) frame {
	t.Helper()
	n := len(s.all())
	outcome := make(chan bool, 1)
	if err := h.Join(context.Background(), room, s, since, "r", func(ok bool) { outcome <- ok }); err != nil {
		t.Fatal(err)
	}
	var got frame
	waitFor(t, s.name+" joined", func() bool {
		fs := s.all()
		for _, f := range fs[n:] {
			if f.Type == "joined" || f.Type == "error" {
				got = f
				return true
			}
		}
		return false
	})
	if joined := <-outcome; joined != (got.Type == "joined") {
		t.Fatalf("%s: the room answered %s but reported joined=%v", s.name, got.Type, joined)
	}
	return got
}

// bid sends a bid through h and waits for its ack or reject.
func bid(t *testing.T, h *hub, s *sub, user, id, amount string) frame {
	t.Helper()
	err := h.Mutate(context.Background(), room, &rooms.Mutation{Op: "bid", ID: id, User: user,
		Payload: json.RawMessage(`"` + amount + `"`), Reply: s})
	if err != nil {
		t.Fatal(err)
	}
	var got frame
	waitFor(t, "reply to "+id, func() bool {
		for _, f := range s.all() {
			if (f.Type == "ack" || f.Type == "reject") && f.ID == id {
				got = f
				return true
			}
		}
		return false
	})
	return got
}

func mustAck(t *testing.T, f frame) frame {
	t.Helper()
	if f.Type != "ack" {
		t.Fatalf("%s %s: %s, want ack", f.Type, f.Reason, f.Message)
	}
	return f
}

func gapless(t *testing.T, who string, got []int64, from, to int64) {
	t.Helper()
	if int64(len(got)) != to-from+1 {
		t.Fatalf("%s saw versions %v, want %d..%d", who, got, from, to)
	}
	for i, v := range got {
		if v != from+int64(i) {
			t.Fatalf("%s saw versions %v, want %d..%d in order with no gaps", who, got, from, to)
		}
	}
}

func TestOtherHubsCommitsReachIdleRoomViaPoller(t *testing.T) {
	w := newWorld(t)
	w.create()
	a := w.hub(rooms.Config{PollInterval: 2 * time.Millisecond})
	b := w.hub(rooms.Config{PollInterval: 2 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)

	watcherA, watcherB, bidder := &sub{name: "A"}, &sub{name: "B"}, &sub{name: "bidder"}
	if j := join(t, a, watcherA, nil); j.Type != "joined" || j.Version != 1 {
		t.Fatalf("joined %+v", j)
	}
	join(t, b, watcherB, nil)
	w.clk.Advance(time.Minute)
	for i := 0; i < 5; i++ {
		ack := mustAck(t, bid(t, b, bidder, "bob", fmt.Sprint("m", i), fmt.Sprintf("%d.00", 100+10*i)))
		if ack.Version != int64(i+2) {
			t.Fatalf("ack version %d", ack.Version)
		}
	}
	// Nothing is sent to hub A: only its poller can bring these.
	waitFor(t, "A to see v6", func() bool { ev := watcherA.events(); return len(ev) > 0 && ev[len(ev)-1] >= 6 })
	gapless(t, "A", watcherA.events(), 2, 6)
	gapless(t, "B", watcherB.events(), 2, 6)
	// A's engine followed along: a bid below B's last price is early-rejected
	// with the true minimum.
	if r := bid(t, a, bidder, "carol", "low", "140.00"); r.Type != "reject" || r.Reason != "bid_too_low" || r.Min != "145.00" {
		t.Fatalf("%+v", r)
	}
}

func TestGapFilledBeforeOwnCommit(t *testing.T) {
	w := newWorld(t)
	w.create()
	a := w.hub(rooms.Config{}) // no poller running
	b := w.hub(rooms.Config{})
	watcher, bidder := &sub{name: "A"}, &sub{name: "bidder"}
	join(t, a, watcher, nil)
	w.clk.Advance(time.Minute)
	mustAck(t, bid(t, b, bidder, "bob", "b1", "100.00"))
	mustAck(t, bid(t, b, bidder, "bob", "b2", "110.00"))
	if ev := watcher.events(); len(ev) != 0 {
		t.Fatalf("A saw %v without polling", ev)
	}
	// A commits v4; before broadcasting it, it fetches v2 and v3.
	if ack := mustAck(t, bid(t, a, bidder, "carol", "c1", "200.00")); ack.Version != 4 {
		t.Fatalf("A's bid committed as v%d, want 4", ack.Version)
	}
	gapless(t, "A", watcher.events(), 2, 4)
	var last frame
	for _, f := range watcher.all() {
		if f.Type == "event" {
			last = f
		}
	}
	var s auction.State
	if err := json.Unmarshal(last.State, &s); err != nil || s.CurrentBid == nil || s.CurrentBid.String() != "200.00" || s.Bids != 3 {
		t.Fatalf("last event state %s", last.State)
	}
}

func TestJoinSince(t *testing.T) {
	w := newWorld(t)
	w.create()
	a := w.hub(rooms.Config{MaxReplay: 2})
	bidder := &sub{name: "bidder"}
	w.clk.Advance(time.Minute)
	for i, amt := range []string{"100.00", "105.00", "110.00"} {
		mustAck(t, bid(t, a, bidder, "bob", fmt.Sprint("b", i), amt))
	} // now at v4
	v := func(n int64) *int64 { return &n }

	for _, h := range []*hub{a, w.hub(rooms.Config{MaxReplay: 2})} { // this hub, and a fresh one
		t.Run("recovered", func(t *testing.T) {
			s := &sub{name: "since2"}
			j := join(t, h, s, v(2))
			if j.Type != "joined" || !j.Recovered || j.Version != 4 || len(j.State) != 0 {
				t.Fatalf("joined %+v, want recovered at v4 without state", j)
			}
			waitFor(t, "replay", func() bool { return len(s.events()) >= 2 })
			gapless(t, "since2", s.events(), 3, 4)
			fs := s.all()
			if fs[0].Type != "joined" {
				t.Fatal("events before joined")
			}
		})
		t.Run("up to date", func(t *testing.T) {
			s := &sub{name: "since4"}
			j := join(t, h, s, v(4))
			if !j.Recovered || j.Version != 4 {
				t.Fatalf("joined %+v", j)
			}
		})
		for name, since := range map[string]*int64{"no since": nil, "since 0": v(0), "since ahead": v(99), "beyond MaxReplay": v(1), "negative": v(-3)} {
			t.Run(name, func(t *testing.T) {
				s := &sub{name: name}
				j := join(t, h, s, since)
				if j.Type != "joined" || j.Recovered || j.Version != 4 {
					t.Fatalf("joined %+v, want full state at v4", j)
				}
				var st auction.State
				if err := json.Unmarshal(j.State, &st); err != nil || st.Bids != 3 || st.ID != "a1" {
					t.Fatalf("state %s: %v", j.State, err)
				}
			})
		}
	}

	// A recovered subscriber goes on receiving new events in order.
	s := &sub{name: "follower"}
	join(t, a, s, v(3))
	mustAck(t, bid(t, a, bidder, "bob", "b9", "200.00"))
	waitFor(t, "v5", func() bool { ev := s.events(); return len(ev) > 0 && ev[len(ev)-1] == 5 })
	gapless(t, "follower", s.events(), 4, 5)
}

func TestUnknownRoom(t *testing.T) {
	w := newWorld(t)
	a := w.hub(rooms.Config{})
	s := &sub{name: "s"}
	outcome := make(chan bool, 2)
	if err := a.Join(context.Background(), "auction:nope", s, nil, "ref1", func(ok bool) { outcome <- ok }); err != nil {
		t.Fatal(err)
	}
	if joined := <-outcome; joined {
		t.Fatal("the join of a room that does not exist was reported joined")
	}
	waitFor(t, "error frame", func() bool { _, ok := s.find("error", ""); return ok })
	f, _ := s.find("error", "")
	if f.Code != "not_found" || f.Ref != "ref1" || f.Message == "" {
		t.Fatalf("error frame %+v", f)
	}
	err := a.Mutate(context.Background(), "auction:nope", &rooms.Mutation{Op: "bid", ID: "x", User: "bob",
		Payload: json.RawMessage(`"1.00"`), Reply: s})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reject", func() bool { _, ok := s.find("reject", "x"); return ok })
	if r, _ := s.find("reject", "x"); r.Reason != "not_found" || r.Room != "auction:nope" {
		t.Fatalf("reject %+v", r)
	}
	if _, _, err := a.Snapshot(context.Background(), "auction:nope"); !errors.Is(err, rooms.ErrNotFound) {
		t.Fatalf("snapshot: %v, want ErrNotFound", err)
	}
	// A room that does not exist does not keep a sequencer.
	waitFor(t, "the broken room to retire", func() bool { return a.Live() == 0 })

	for _, name := range []string{"nope", "schema:", "bogus:a1", "auction:a b", "auction:" + string(make([]byte, 65))} {
		err := a.Join(context.Background(), name, s, nil, "", func(bool) { t.Error("done called for a malformed room") })
		var bad *rooms.BadRoomError
		if !errors.As(err, &bad) {
			t.Errorf("join %q: %v, want a BadRoomError", name, err)
		}
	}
	if a.Live() != 0 {
		t.Fatalf("%d sequencers for malformed names", a.Live())
	}
}

func TestCloseFiresOnceAtEndsAt(t *testing.T) {
	w := newWorld(t)
	au := w.create()
	a, b := w.hub(rooms.Config{}), w.hub(rooms.Config{})
	sa, sb, bidder := &sub{name: "A"}, &sub{name: "B"}, &sub{name: "bidder"}
	join(t, a, sa, nil)
	join(t, b, sb, nil)
	w.clk.Advance(time.Minute)
	mustAck(t, bid(t, a, bidder, "bob", "b1", "100.00"))
	waitFor(t, "B to learn v2 (gap fill on join)", func() bool {
		_, _, err := b.Snapshot(context.Background(), room)
		return err == nil && len(sb.events()) == 1
	})
	// Both hubs have a deadline timer for ends_at.
	waitFor(t, "two deadline timers", func() bool { return w.clk.Timers() == 2 })

	w.clk.Set(au.EndsAt.Add(-time.Microsecond))
	if r := bid(t, b, bidder, "carol", "c1", "105.00"); r.Type != "ack" {
		t.Fatalf("bid 1µs before the end: %+v", r)
	}
	w.clk.Set(au.EndsAt)
	waitFor(t, "both hubs to broadcast closed", func() bool { return sa.kinds("closed") == 1 && sb.kinds("closed") == 1 })
	w.clk.Advance(time.Hour)
	for _, h := range []*hub{a, b} {
		v, st, err := h.Snapshot(context.Background(), room)
		if err != nil {
			t.Fatal(err)
		}
		s := st.(auction.State)
		if v != 4 || s.Status != auction.StatusEnded || s.Winner == nil || *s.Winner != "carol" || s.FinalPrice.String() != "105.00" {
			t.Fatalf("v%d %+v", v, s)
		}
	}
	gapless(t, "A", sa.events(), 2, 4)
	gapless(t, "B", sb.events(), 2, 4)
	if sa.kinds("closed") != 1 || sb.kinds("closed") != 1 {
		t.Fatal("closed broadcast more than once")
	}
	evs, _ := w.Store.EventsAfter(context.Background(), room, 0, 100)
	closed := 0
	for _, e := range evs {
		if e.Kind == auction.KindClosed {
			closed++
		}
	}
	if closed != 1 || len(evs) != 4 {
		t.Fatalf("%d events, %d closed, want 4 and exactly 1", len(evs), closed)
	}
	if n := w.clk.Timers(); n != 0 {
		t.Fatalf("%d timers still set after the close", n)
	}
	// A bid after the end is rejected.
	if r := bid(t, a, bidder, "dave", "d1", "500.00"); r.Reason != "ended" {
		t.Fatalf("%+v", r)
	}
}

func TestCloseFollowsAnotherHubsExtension(t *testing.T) {
	// Hub B takes a bid that extends the auction; hub A, not polling, still
	// has the old ends_at. A's timer fires, its close is rejected as not due,
	// it catches up, and must then close at the new ends_at by itself.
	w := newWorld(t)
	au := w.createWith(30, 30)
	a, b := w.hub(rooms.Config{}), w.hub(rooms.Config{})
	sa, sb, bidder := &sub{name: "A"}, &sub{name: "B"}, &sub{name: "bidder"}
	join(t, a, sa, nil)
	join(t, b, sb, nil)
	w.clk.Set(au.EndsAt.Add(-10 * time.Second))
	mustAck(t, bid(t, b, bidder, "bob", "b1", "100.00"))
	newEnd := au.EndsAt.Add(20 * time.Second)
	// Hub B goes away: only A can close the auction now.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A's deadline timer alone", func() bool { return w.clk.Timers() == 1 })

	w.clk.Set(au.EndsAt)
	rejected := func() float64 {
		return testutil.ToFloat64(a.metrics.Commits.WithLabelValues("auction", "close", "rejected"))
	}
	waitFor(t, "A's early close to be rejected", func() bool { return rejected() == 1 })
	// The snapshot is handled after A has finished reacting to the rejection.
	v, st, err := a.Snapshot(context.Background(), room)
	if err != nil || v != 2 || !st.(auction.State).EndsAt.Equal(newEnd) {
		t.Fatalf("A after catching up: v%d %+v %v", v, st, err)
	}
	gapless(t, "A", sa.events(), 2, 2)
	// Whatever retry timer A set fires while the close is still not due...
	w.clk.Advance(time.Second)
	// ...and A must keep a timer for the new ends_at.
	waitFor(t, "A to re-arm its deadline for the extended end", func() bool { return w.clk.Timers() == 1 })
	w.clk.Set(newEnd)
	waitFor(t, "A to close at the extended end", func() bool { return sa.kinds("closed") == 1 })
	gapless(t, "A", sa.events(), 2, 3)
	if rejected() != 1 {
		t.Fatalf("%v rejected closes, want 1: A should close only when due", rejected())
	}
}

func TestCloseOnRead(t *testing.T) {
	w := newWorld(t)
	au := w.create()
	a := w.hub(rooms.Config{IdleTimeout: 10 * time.Second})
	bidder := &sub{name: "bidder"}
	w.clk.Advance(time.Minute)
	mustAck(t, bid(t, a, bidder, "bob", "b1", "100.00"))
	v, st, err := a.Snapshot(context.Background(), room)
	if err != nil || v != 2 || st.(auction.State).Status != auction.StatusLive {
		t.Fatalf("snapshot before the end: v%d %+v %v", v, st, err)
	}
	// Let the room go idle, so no timer is waiting for ends_at. The idle
	// timer is re-armed after each request, a moment after its reply, so
	// time moves in small steps until the room retires (never near the
	// deadline).
	idleFrom := w.clk.Now()
	waitFor(t, "retire", func() bool {
		if w.clk.Now().Sub(idleFrom) < time.Minute {
			w.clk.Advance(100 * time.Millisecond)
		}
		return a.Live() == 0
	})
	if w.clk.Timers() != 0 {
		t.Fatalf("%d timers after retiring", w.clk.Timers())
	}

	w.clk.Set(au.EndsAt.Add(time.Second))
	v, st, err = a.Snapshot(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(auction.State)
	if v != 3 || s.Status != auction.StatusEnded || s.Winner == nil || *s.Winner != "bob" || s.FinalPrice == nil {
		t.Fatalf("snapshot after ends_at: v%d %+v; want the close committed on read", v, s)
	}
	// Reading again closes nothing more.
	v, _, _ = a.Snapshot(context.Background(), room)
	if v != 3 {
		t.Fatalf("v%d after a second read", v)
	}
	evs, _ := w.Store.EventsAfter(context.Background(), room, 0, 100)
	if len(evs) != 3 || evs[2].Kind != auction.KindClosed {
		t.Fatalf("log has %d events", len(evs))
	}
	// A join after the end also sees it closed.
	j := join(t, a, &sub{name: "late"}, nil)
	var js auction.State
	_ = json.Unmarshal(j.State, &js)
	if j.Version != 3 || js.Winner == nil {
		t.Fatalf("joined %+v", j)
	}
}

func TestIdleSequencerRetires(t *testing.T) {
	w := newWorld(t)
	w.create()
	a := w.hub(rooms.Config{IdleTimeout: 30 * time.Second})
	s := &sub{name: "s"}
	join(t, a, s, nil)
	if a.Live() != 1 || a.roomsGauge(t) != 1 {
		t.Fatalf("live %d gauge %v", a.Live(), a.roomsGauge(t))
	}
	waitFor(t, "deadline timer", func() bool { return w.clk.Timers() == 1 })
	// A subscribed room never retires.
	w.clk.Advance(time.Minute)
	if a.Live() != 1 {
		t.Fatal("a room with a subscriber retired")
	}
	if err := a.Leave(context.Background(), room, s, "bye", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "left", func() bool { f, ok := s.find("left", ""); return ok && f.Ref == "bye" })
	waitFor(t, "idle timer", func() bool { return w.clk.Timers() == 2 })
	w.clk.Advance(30*time.Second - time.Nanosecond)
	if a.Live() != 1 {
		t.Fatal("retired before IdleTimeout")
	}
	w.clk.Advance(time.Nanosecond)
	waitFor(t, "retire", func() bool { return a.Live() == 0 })
	if g := a.roomsGauge(t); g != 0 {
		t.Fatalf("hotrow_rooms = %v after retiring", g)
	}
	if n := w.clk.Timers(); n != 0 {
		t.Fatalf("%d timers left by a retired room", n)
	}
	// The room starts again on demand, from the store.
	j := join(t, a, &sub{name: "again"}, nil)
	if j.Version != 1 || a.Live() != 1 {
		t.Fatalf("joined %+v live %d", j, a.Live())
	}
	a.mu.Lock()
	n := a.engines
	a.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d engines made, want 2 (one per start)", n)
	}
}

// slowEngine is a room whose Apply blocks until released.
type slowEngine struct {
	started chan string
	release chan struct{}
	v       int64
}

func (e *slowEngine) Load(context.Context) (int64, error) { e.v = 1; return 1, nil }
func (e *slowEngine) Observe(rooms.Event) error           { return nil }
func (e *slowEngine) State(time.Time) any                 { return map[string]int64{"v": e.v} }
func (e *slowEngine) Apply(ctx context.Context, m *rooms.Mutation) rooms.Outcome {
	e.started <- m.ID
	<-e.release
	e.v++
	return rooms.Outcome{Version: e.v, Attempts: 1}
}

func TestDrainAnswersQueuedMutations(t *testing.T) {
	for round := 0; round < 20; round++ {
		mem := memstore.New(clock.NewFake(t0))
		eng := &slowEngine{started: make(chan string, 10), release: make(chan struct{})}
		r := rooms.NewRegistry(rooms.MustKinds(rooms.Kind{Name: "slow", New: func(string) rooms.Engine { return eng }}), mem,
			prometheus.NewRegistry(), rooms.Config{Clock: clock.NewFake(t0), Logger: quiet})
		s := &sub{name: "s"}
		mutate := func(id string) error {
			return r.Mutate(context.Background(), "slow:x", &rooms.Mutation{Op: "bid", ID: id, User: "u", Reply: s})
		}
		if err := mutate("m1"); err != nil {
			t.Fatal(err)
		}
		if id := <-eng.started; id != "m1" {
			t.Fatalf("started %s", id)
		}
		// m1 is in its transaction; m2 and m3 wait in the inbox.
		for _, id := range []string{"m2", "m3"} {
			if err := mutate(id); err != nil {
				t.Fatal(err)
			}
		}
		drained := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			drained <- r.Drain(ctx)
		}()
		waitFor(t, "draining", func() bool { return errors.Is(mutate("late"), rooms.ErrDraining) })
		close(eng.release)
		if err := <-drained; err != nil {
			t.Fatalf("drain: %v", err)
		}
		if f, ok := s.find("ack", "m1"); !ok || f.Version != 2 {
			t.Fatalf("round %d: the running transaction was not finished and acked: %+v", round, s.all())
		}
		for _, id := range []string{"m2", "m3"} {
			f, ok := s.find("reject", id)
			if !ok || f.Reason != "unavailable" {
				t.Fatalf("round %d: queued %s got %+v, want reject unavailable (frames %+v)", round, id, f, s.all())
			}
		}
		if r.Live() != 0 {
			t.Fatalf("%d rooms live after drain", r.Live())
		}
		if err := r.Join(context.Background(), "slow:x", s, nil, "", nil); !errors.Is(err, rooms.ErrDraining) {
			t.Fatalf("join after drain: %v", err)
		}
		if len(eng.started) != 0 {
			t.Fatalf("round %d: a queued mutation ran after drain began", round)
		}
	}
}

// countingLog counts the store reads of room versions.
type countingLog struct {
	rooms.Log
	versions atomic.Int64
}

func (l *countingLog) Versions(ctx context.Context, names []string) (map[string]int64, error) {
	l.versions.Add(1)
	return l.Log.Versions(ctx, names)
}

// A storm of joins queued behind a busy room costs one catch-up with the
// store, not one per joiner, and every joiner gets its joined frame with
// the state, in order, after the mutation that was running.
func TestJoinStormIsOneCatchUp(t *testing.T) {
	eng := &slowEngine{started: make(chan string, 1), release: make(chan struct{})}
	log := &countingLog{Log: memstore.New(clock.NewFake(t0))}
	r := rooms.NewRegistry(rooms.MustKinds(rooms.Kind{Name: "slow", New: func(string) rooms.Engine { return eng }}), log,
		prometheus.NewRegistry(), rooms.Config{Clock: clock.NewFake(t0), Logger: quiet})
	t.Cleanup(func() { _ = r.Drain(context.Background()) })
	ctx := context.Background()
	busy := &sub{name: "busy"}
	if err := r.Mutate(ctx, "slow:x", &rooms.Mutation{Op: "bid", ID: "m1", User: "u", Reply: busy}); err != nil {
		t.Fatal(err)
	}
	<-eng.started
	const joiners = 100
	subs := make([]*sub, joiners)
	for i := range subs {
		subs[i] = &sub{name: fmt.Sprint("s", i)}
		if err := r.Join(ctx, "slow:x", subs[i], nil, "j", nil); err != nil {
			t.Fatal(err)
		}
	}
	before := log.versions.Load()
	close(eng.release)
	for _, s := range subs {
		waitFor(t, s.name+" joined", func() bool { _, ok := s.find("joined", ""); return ok })
		f, _ := s.find("joined", "")
		// slowEngine commits no event: the version stays 1, its state moved.
		if f.Version != 1 || string(f.State) != `{"v":2}` {
			t.Fatalf("%s joined %+v, want the state after the mutation", s.name, f)
		}
	}
	if n := log.versions.Load() - before; n != 1 {
		t.Fatalf("%d joins cost %d catch-ups with the store, want 1", joiners, n)
	}
}

// orderSub records whether a join's outcome was known when each frame was
// sent.
type orderSub struct {
	sub
	known *atomic.Bool
	early atomic.Bool // a joined frame went out before the outcome was reported
}

func (s *orderSub) Send(b []byte, droppable bool) bool {
	if strings.Contains(string(b), `"type":"joined"`) && !s.known.Load() {
		s.early.Store(true)
	}
	return s.sub.Send(b, droppable)
}

// The hub hears that a join succeeded before the client can read joined, so
// a cursor the client sends on reading it finds the room joined; on a fresh
// join and on a recovery with since alike.
func TestJoinOutcomeBeforeJoinedFrame(t *testing.T) {
	w := newWorld(t)
	w.create()
	a := w.hub(rooms.Config{})
	one := int64(1)
	for _, since := range []*int64{nil, &one} {
		var known atomic.Bool
		s := &orderSub{sub: sub{name: "s"}, known: &known}
		if err := a.Join(context.Background(), room, s, since, "r", func(joined bool) { known.Store(joined) }); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "joined", func() bool { _, ok := s.find("joined", ""); return ok })
		if s.early.Load() {
			t.Fatalf("since %v: joined was sent before the hub heard the join succeeded", since)
		}
	}
}
