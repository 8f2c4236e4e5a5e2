package rooms_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
)

var smallIDs = rooms.IDConfig{Window: 8, Step: 4, SegmentBase: 8, SegmentMax: 16}

// hubWithIDs is a hub whose rooms keep few ids in memory.
func (w *world) hubWithIDs(cfg rooms.Config) *hub {
	h := &hub{prom: prometheus.NewRegistry(), metrics: txn.NewMetrics(nil)}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = time.Hour
	}
	d := w.Deps(h.metrics)
	d.IDs = smallIDs
	h.Registry = w.Registry(rooms.MustKinds(auction.RoomKind(w.Store.Auctions(), d)), h.prom, cfg)
	return h
}

func amount(i int) string { return fmt.Sprintf("%d.00", 100+5*i) }

// The sequencer moves a busy room's ids into the stored summary as it
// goes, so another hub's first load of the room reads only the newest; a
// resend of the first bid there, below the minimum by now, is acked with
// its original version, never rejected.
func TestSequencerStoresTheSummaryAsTheRoomGrows(t *testing.T) {
	w := newWorld(t)
	w.create()
	w.clk.Advance(time.Minute)
	a := w.hubWithIDs(rooms.Config{})
	bidder := &sub{name: "bidder"}
	var first frame
	for i := 0; i < 50; i++ {
		f := mustAck(t, bid(t, a, bidder, "bob", fmt.Sprint("b", i), amount(i)))
		if i == 0 {
			first = f
		}
	}
	// Now at version 51: the summary is stored up to 51 rounded down to a step of 4.
	rows, err := w.Store.Summaries(context.Background(), room)
	if err != nil || len(rows) == 0 || rows[len(rows)-1].Covered != 48 {
		t.Fatalf("stored summary: %d segments, the last covering to %d (%v); want up to 48", len(rows), rows[len(rows)-1].Covered, err)
	}
	b := w.hubWithIDs(rooms.Config{})
	again := mustAck(t, bid(t, b, &sub{name: "resender"}, "bob", "b0", amount(0)))
	if again.Version != first.Version || again.Attempts != first.Attempts {
		t.Fatalf("resend of the first bid on another hub = %+v, first ack %+v", again, first)
	}
	if low := bid(t, b, &sub{name: "late"}, "carol", "c0", amount(0)); low.Reason != auction.ReasonBidTooLow {
		t.Fatalf("a new low bid = %+v, want bid_too_low", low)
	}
}

// After compaction, a join with since among the events kept is still
// replayed, gapless; further back it gets the full state, on this hub and
// on a fresh one.
func TestJoinSinceAfterCompaction(t *testing.T) {
	w := newWorld(t)
	w.create()
	w.clk.Advance(time.Minute)
	a := w.hubWithIDs(rooms.Config{})
	bidder := &sub{name: "bidder"}
	for i := 0; i < 20; i++ {
		mustAck(t, bid(t, a, bidder, "bob", fmt.Sprint("b", i), amount(i)))
	} // v21
	rep, err := rooms.Compact(context.Background(), w.Store, rooms.Retention{KeepEvents: 5, KeepFor: -1, IDs: smallIDs}, w.clk.Now(), quiet)
	if err != nil || rep.EventsDeleted != 16 {
		t.Fatalf("compaction %+v %v, want 16 events deleted", rep, err)
	}
	v := func(n int64) *int64 { return &n }
	for _, h := range []*hub{a, w.hubWithIDs(rooms.Config{})} {
		s := &sub{name: "recent"}
		if j := join(t, h, s, v(16)); !j.Recovered || j.Version != 21 {
			t.Fatalf("join since 16 = %+v, want recovered at 21", j)
		}
		waitFor(t, "replay", func() bool { return len(s.events()) >= 5 })
		gapless(t, "since 16", s.events(), 17, 21)
		old := &sub{name: "old"}
		if j := join(t, h, old, v(3)); j.Recovered || j.Version != 21 || len(j.State) == 0 {
			t.Fatalf("join since 3 = %+v, want the full state at 21", j)
		}
	}
}
