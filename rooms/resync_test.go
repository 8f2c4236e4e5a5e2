package rooms_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"

	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotrow/rooms"
	"hotrow/rooms/auction"
)

// A bid of the maximum amount is a legitimate bid: afterwards the room
// serves the state the store holds (min_next_bid above the maximum
// included), to joiners and to reads, and once the auction is due it
// closes exactly once instead of retrying its close for ever.
func TestMaximumBidKeepsTheRoomCurrent(t *testing.T) {
	w := newWorld(t)
	dur, zero := 300, 0
	w.Auction(auction.CreateRequest{ID: "a1", Title: "Lamp", StartingPrice: "1000000000.00", Increment: "0.01",
		DurationS: &dur, AntiSnipeWindowS: &zero, AntiSnipeExtendS: &zero})
	h := w.hub(rooms.Config{})
	watcher, bidder := &sub{name: "watcher"}, &sub{name: "bidder"}
	join(t, h, watcher, nil)
	w.clk.Advance(time.Minute)
	mustAck(t, bid(t, h, bidder, "bob", "max", "1000000000.00"))

	current := func(st json.RawMessage) (cur *string, min string) {
		var s struct {
			CurrentBid *string `json:"current_bid"`
			MinNextBid string  `json:"min_next_bid"`
		}
		if err := json.Unmarshal(st, &s); err != nil {
			t.Fatalf("state %s: %v", st, err)
		}
		return s.CurrentBid, s.MinNextBid
	}
	late := &sub{name: "late"}
	j := join(t, h, late, nil)
	if cur, min := current(j.State); j.Version != 2 || cur == nil || *cur != "1000000000.00" || min != "1000000000.01" {
		t.Fatalf("a late joiner got v%d current %v min %s, want v2 at 1000000000.00", j.Version, cur, min)
	}
	v, st, err := h.Snapshot(context.Background(), room)
	b, _ := json.Marshal(st)
	if cur, _ := current(b); err != nil || v != 2 || cur == nil || *cur != "1000000000.00" {
		t.Fatalf("snapshot v%d %s %v", v, b, err)
	}

	// At the end the auction closes once, for the bidder of the maximum.
	w.clk.Advance(5 * time.Minute)
	waitFor(t, "the closed event", func() bool { return watcher.kinds("closed") == 1 })
	before := attempts(h, "close")
	w.clk.Advance(time.Second) // well past any 100 ms retry of a close
	if _, _, err := h.Snapshot(context.Background(), room); err != nil {
		t.Fatal(err)
	}
	if after := attempts(h, "close"); after != before {
		t.Fatalf("the closed room ran %v more close transactions", after-before)
	}
}

// An engine that cannot apply a committed event must not serve stale state:
// the room reloads it from the store, and its subscribers still get every
// event in order.
func TestUnappliableEventReloadsTheRoom(t *testing.T) {
	w := newWorld(t)
	w.create()
	h := w.hub(rooms.Config{})
	var failNext atomic.Bool
	var loads atomic.Int32
	k := auction.RoomKind(w.Store.Auctions(), w.Deps(h.metrics))
	inner := k.New
	k.New = func(id string) rooms.Engine {
		return &flakyEngine{Engine: inner(id), fail: &failNext, loads: &loads}
	}
	h.Registry = w.Registry(rooms.MustKinds(k), nil, rooms.Config{IdleTimeout: time.Hour})

	watcher, bidder := &sub{name: "watcher"}, &sub{name: "bidder"}
	join(t, h, watcher, nil)
	w.clk.Advance(time.Minute)
	failNext.Store(true)
	mustAck(t, bid(t, h, bidder, "bob", "b1", "100.00"))
	if n := loads.Load(); n != 2 {
		t.Fatalf("the engine was loaded %d times, want 2 (start, and again after the event it could not apply)", n)
	}
	// The reloaded engine knows the bid: a bid below the new minimum is
	// early-rejected with it, and the next bid commits as v3.
	if r := bid(t, h, bidder, "carol", "low", "100.00"); r.Type != "reject" || r.Min != "105.00" {
		t.Fatalf("after the reload: %+v", r)
	}
	mustAck(t, bid(t, h, bidder, "carol", "c1", "105.00"))
	waitFor(t, "v3", func() bool { ev := watcher.events(); return len(ev) == 2 })
	gapless(t, "watcher", watcher.events(), 2, 3)
}

// flakyEngine fails to observe one event when told to.
type flakyEngine struct {
	rooms.Engine
	fail  *atomic.Bool
	loads *atomic.Int32
}

func (f *flakyEngine) Load(ctx context.Context) (int64, error) {
	f.loads.Add(1)
	return f.Engine.Load(ctx)
}

func (f *flakyEngine) Observe(ev rooms.Event) error {
	if f.fail.CompareAndSwap(true, false) {
		return errors.New("injected: the event does not apply")
	}
	return f.Engine.Observe(ev)
}

func (f *flakyEngine) Deadline() (time.Time, bool) { return f.Engine.(rooms.Deadliner).Deadline() }

func attempts(h *hub, op string) float64 {
	return testutil.ToFloat64(h.metrics.Attempts.WithLabelValues("auction", op))
}
