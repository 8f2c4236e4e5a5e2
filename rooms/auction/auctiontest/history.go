package auctiontest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
)

// smallIDs makes the window and the summary's segments tiny, so that a
// room of a hundred bids has most of its ids summarized, over several
// segments.
var smallIDs = rooms.IDConfig{Window: 8, Step: 4, SegmentBase: 8, SegmentMax: 16}

// countingStore counts what a hub asks of the store.
type countingStore struct {
	auction.Store
	attempts, pointReads, recordsRead atomic.Int64
}

func (c *countingStore) Attempt(ctx context.Context, id string, key rooms.Key, fn func(auction.Tx) error) error {
	c.attempts.Add(1)
	return c.Store.Attempt(ctx, id, key, fn)
}

func (c *countingStore) FindApplied(ctx context.Context, room, user, id string) (rooms.Applied, bool, error) {
	c.pointReads.Add(1)
	return c.Store.FindApplied(ctx, room, user, id)
}

func (c *countingStore) AppliedAfter(ctx context.Context, room string, after, upto int64, limit int) ([]rooms.AppliedRecord, error) {
	recs, err := c.Store.AppliedAfter(ctx, room, after, upto, limit)
	c.recordsRead.Add(int64(len(recs)))
	return recs, err
}

func (c *countingStore) reset() { c.attempts.Store(0); c.pointReads.Store(0); c.recordsRead.Store(0) }

// upkeeper is what the sequencer calls after each message.
type upkeeper interface {
	UpkeepDue(known int64) bool
	Upkeep(ctx context.Context, known int64)
}

// history is one auction with bids committed through an engine, as one
// hub's sequencer drives it, and every ack it gave.
type history struct {
	e      *env
	id     string
	store  *countingStore
	deps   rooms.Deps
	acks   map[string]rooms.Outcome // by message id
	users  map[string]string        // message id -> user
	amount map[string]string        // message id -> amount
	byVer  map[int64]string         // version -> message id
	last   int64
	eng    rooms.Engine // the hub that committed them, still running
}

func (e *env) history(id string, bids int) *history {
	e.t.Helper()
	ctx := context.Background()
	h := &history{e: e, id: id, store: &countingStore{Store: e.s},
		acks: map[string]rooms.Outcome{}, users: map[string]string{}, amount: map[string]string{}, byVer: map[int64]string{}}
	h.deps = rooms.Deps{Runner: &txn.Runner{Policy: txn.Policy{MaxAttempts: 20, BaseDelay: time.Millisecond}},
		Logger: quiet, IDs: smallIDs}
	hour := 3600
	if _, err := auction.NewService(h.store, h.deps).Create(ctx, auction.CreateRequest{ID: id, Title: "History",
		StartingPrice: "1.00", Increment: "0.01", DurationS: &hour}, "seller"); err != nil {
		e.t.Fatal(err)
	}
	eng := h.load()
	for i := 0; i < bids; i++ {
		msg := fmt.Sprintf("b%d", i)
		user := fmt.Sprintf("u%d", i%5)
		amount := fmt.Sprintf("%d.%02d", (100+i)/100, (100+i)%100)
		out := eng.Apply(ctx, bidMsg(user, msg, amount))
		if out.Reject != nil || out.Event == nil {
			e.t.Fatalf("bid %d: %+v %+v", i, out, out.Reject)
		}
		eng.Observe(*out.Event)
		if u := eng.(upkeeper); u.UpkeepDue(out.Version) {
			u.Upkeep(ctx, out.Version)
		}
		h.acks[msg], h.users[msg], h.amount[msg], h.byVer[out.Version] = out, user, amount, msg
		h.last = out.Version
	}
	c := &eng.(*auction.Engine).Committer
	if w := int64(c.Applied.Len()); w > smallIDs.Window+smallIDs.Step {
		e.t.Fatalf("after %d bids the window holds %d ids: more than Window+Step = %d", bids, w, smallIDs.Window+smallIDs.Step)
	}
	h.eng = eng
	return h
}

// load is a hub (re)starting: a fresh engine loading the room.
func (h *history) load() rooms.Engine {
	h.e.t.Helper()
	eng := auction.RoomKind(h.store, h.deps).New(h.id)
	if _, err := eng.Load(context.Background()); err != nil {
		h.e.t.Fatalf("load %s: %v", h.id, err)
	}
	return eng
}

func bidMsg(user, id, amount string) *rooms.Mutation {
	raw, _ := json.Marshal(amount)
	return &rooms.Mutation{Op: "bid", ID: id, User: user, Payload: raw}
}

// resend sends msg again and checks it gets its original ack, with no
// transaction and at most want point reads.
func (h *history) resend(t *testing.T, eng rooms.Engine, msg, what string, pointReads int64) {
	t.Helper()
	h.store.reset()
	out := eng.Apply(context.Background(), bidMsg(h.users[msg], msg, h.amount[msg]))
	first := h.acks[msg]
	if out.Reject != nil || out.Event != nil || out.Version != first.Version || out.Attempts != first.Attempts {
		t.Fatalf("resend of %s (%s, version %d) = %+v %+v; its ack was version %d attempts %d",
			msg, what, first.Version, out, out.Reject, first.Version, first.Attempts)
	}
	if n := h.store.attempts.Load(); n != 0 {
		t.Errorf("resend of %s (%s) ran %d transactions, want none", msg, what, n)
	}
	if n := h.store.pointReads.Load(); n != pointReads {
		t.Errorf("resend of %s (%s) made %d point reads, want %d", msg, what, n, pointReads)
	}
}

// A resend of any age gets its original ack: from memory within the
// window, with one point read past its edge and far past it, on the hub
// that committed it and after a restart; the restart reads the stored
// summary and the records after it, not the history; and a new bid below
// the minimum is still rejected early.
func testResendsOfAnyAge(t *testing.T, e *env) {
	h := e.history("old", 120)
	// version 1 created the auction, bid i committed as version i+2. The
	// hub that committed them holds the newest Window of them or more.
	running := h.eng.(*auction.Engine).Applied.Evicted()
	if running < 2 || h.last-running < smallIDs.Window || h.last-running > smallIDs.Window+smallIDs.Step {
		t.Fatalf("the running hub's window starts after version %d at version %d: want between Window (%d) and Window+Step (%d) versions",
			running, h.last, smallIDs.Window, smallIDs.Window+smallIDs.Step)
	}
	h.resend(t, h.eng, h.byVer[running+1], "the oldest in the running hub's window", 0)
	h.resend(t, h.eng, h.byVer[running], "just past the running hub's window", 1)
	h.resend(t, h.eng, h.byVer[2], "the first bid, far past the running hub's window", 1)

	h.store.reset()
	hot := h.load()
	c := &hot.(*auction.Engine).Committer
	if got := h.store.recordsRead.Load(); got >= 2*smallIDs.Step {
		t.Fatalf("loading a room of %d versions read %d idempotency records: want fewer than 2*Step = %d",
			h.last, got, 2*smallIDs.Step)
	}
	cover := c.Applied.Cover()
	if want := h.last / smallIDs.Step * smallIDs.Step; cover != want || c.Applied.Evicted() != cover {
		t.Fatalf("after a restart at version %d the summary covers up to %d and the window starts after %d, want both %d",
			h.last, cover, c.Applied.Evicted(), want)
	}
	h.resend(t, hot, h.byVer[cover+1], "the oldest in the restarted hub's window", 0)
	h.resend(t, hot, h.byVer[h.last], "the newest", 0)
	h.resend(t, hot, h.byVer[cover], "the newest in the summary, just past the window", 1)
	h.resend(t, hot, h.byVer[2], "the first bid, far past the window", 1)
	for v := int64(2); v <= h.last; v++ {
		h.store.reset()
		msg := h.byVer[v]
		if out := hot.Apply(context.Background(), bidMsg(h.users[msg], msg, h.amount[msg])); out.Version != h.acks[msg].Version || out.Reject != nil {
			t.Fatalf("resend of %s (version %d) = %+v %+v", msg, v, out, out.Reject)
		}
	}
	// A new bid below the minimum: rejected without a transaction.
	h.store.reset()
	low := hot.Apply(context.Background(), bidMsg("zed", "new-low", "1.00"))
	if low.Reject == nil || low.Reject.Reason != auction.ReasonBidTooLow || h.store.attempts.Load() != 0 {
		t.Fatalf("a new low bid = %+v %+v after %d transactions; want bid_too_low early", low, low.Reject, h.store.attempts.Load())
	}
	// The same id from another user is another message.
	if other := hot.Apply(context.Background(), bidMsg("someone-else", h.byVer[2], "1.00")); other.Reject == nil {
		t.Fatalf("another user's bid with an old id = %+v, want a rejection", other)
	}
}

// Compaction deletes old events in batches within a transaction's limit
// and loses nothing the contract promises: state and version, bids,
// every idempotency record (a resend of any age keeps its ack, after a
// restart too), and the newest events, gapless. Run again, it does nothing.
func testCompactKeepsPromises(t *testing.T, e *env) {
	ctx := context.Background()
	if e.h.Rooms == nil {
		t.Fatal("the harness has no Rooms: give it the store as a rooms.CompactStore")
	}
	h := e.history("big", 60)
	e.create(newAuction("small", base())) // fewer events than kept
	room := auction.Room("big")
	beforeA, beforeV, _ := e.s.Get(ctx, "big")
	beforeBids, _ := e.s.Bids(ctx, "big")
	beforeIDs, _ := e.applied(room)
	beforeEvs, _ := e.h.Log.EventsAfter(ctx, room, 0, beforeV)
	beforeSmall, _ := e.h.Log.EventsAfter(ctx, auction.Room("small"), 0, 10)

	st := &batchWatch{CompactStore: e.h.Rooms, t: t, batch: 7}
	ret := rooms.Retention{KeepEvents: 10, KeepFor: -1, Batch: 7, IDs: smallIDs}
	rep, err := rooms.Compact(ctx, st, ret, time.Now(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if want := beforeV - 10; rep.EventsDeleted != want || rep.MaxBatch > 7 || rep.Rooms != 2 {
		t.Fatalf("compaction report %+v: want %d events deleted in batches of at most 7, over 2 rooms", rep, want)
	}
	a, v, err := e.s.Get(ctx, "big")
	if err != nil || v != beforeV || a != beforeA {
		t.Fatalf("after compaction the auction is %+v v%d %v, was %+v v%d", a, v, err, beforeA, beforeV)
	}
	if bids, _ := e.s.Bids(ctx, "big"); !reflect.DeepEqual(bids, beforeBids) {
		t.Fatalf("compaction changed the bids: %d, were %d", len(bids), len(beforeBids))
	}
	if ids, _ := e.applied(room); !reflect.DeepEqual(ids, beforeIDs) {
		t.Fatalf("compaction changed the idempotency records: %d, were %d", len(ids), len(beforeIDs))
	}
	evs, err := e.h.Log.EventsAfter(ctx, room, 0, v)
	if err != nil || !reflect.DeepEqual(evs, beforeEvs[len(beforeEvs)-10:]) {
		t.Fatalf("after compaction the log holds %d events (%v), want the newest 10 unchanged", len(evs), err)
	}
	// A join with since within the kept events still replays them all.
	if evs, _ := e.h.Log.EventsAfter(ctx, room, v-10, v); len(evs) != 10 {
		t.Fatalf("%d events after since %d, want 10", len(evs), v-10)
	}
	if evs, _ := e.h.Log.EventsAfter(ctx, auction.Room("small"), 0, 10); !reflect.DeepEqual(evs, beforeSmall) {
		t.Fatalf("a room with fewer events than kept lost some")
	}
	// The stored summary now reaches where the hubs put it: a restart reads
	// only the records after it.
	h.store.reset()
	eng := h.load()
	if got := h.store.recordsRead.Load(); got >= 2*smallIDs.Step {
		t.Fatalf("a load after compaction read %d records", got)
	}
	inWindow := eng.(*auction.Engine).Applied.Evicted()
	for v := int64(2); v <= h.last; v++ {
		if v > inWindow {
			h.resend(t, eng, h.byVer[v], "in the window", 0)
		} else {
			h.resend(t, eng, h.byVer[v], "past the window, its event compacted", 1)
		}
	}
	// Idempotent: a second run deletes nothing.
	rep, err = rooms.Compact(ctx, st, ret, time.Now(), quiet)
	if err != nil || rep.EventsDeleted != 0 {
		t.Fatalf("second compaction: %+v %v", rep, err)
	}
	// Events younger than KeepFor are kept whatever their number.
	h2 := e.history("young2", 20)
	rep, err = rooms.Compact(ctx, st, rooms.Retention{KeepEvents: 1, KeepFor: time.Hour, Batch: 7, IDs: smallIDs}, time.Now(), quiet)
	if err != nil || rep.EventsDeleted != 0 {
		t.Fatalf("compaction with events younger than KeepFor: %+v %v", rep, err)
	}
	if evs, _ := e.h.Log.EventsAfter(ctx, auction.Room("young2"), 0, h2.last); int64(len(evs)) != h2.last {
		t.Fatalf("young events deleted: %d of %d left", len(evs), h2.last)
	}
	// And with a batch over DSQL's limit it refuses to start.
	if _, err := rooms.Compact(ctx, st, rooms.Retention{Batch: rooms.MaxBatch + 1}, time.Now(), quiet); err == nil {
		t.Fatal("a batch of 3,001 rows was accepted")
	}
}

// batchWatch fails the test if one transaction deletes a range of more
// than batch versions.
type batchWatch struct {
	rooms.CompactStore
	t     *testing.T
	batch int64
}

func (b *batchWatch) DeleteEvents(ctx context.Context, room string, after, upto int64) (int64, error) {
	if upto-after > b.batch {
		b.t.Errorf("one transaction deletes events (%d, %d] of %s: more than %d", after, upto, room, b.batch)
	}
	return b.CompactStore.DeleteEvents(ctx, room, after, upto)
}

// SaveSummary keeps, for each segment, the stored filter covering the most
// versions in the layout it was first stored with; Summaries hands back
// filters the caller may change.
func testSummaryRows(t *testing.T, e *env) {
	ctx := context.Background()
	const room = "auction:sum"
	row := func(seg int, from, end, covered int64, fill byte) rooms.SummaryRow {
		return rooms.SummaryRow{Seg: seg, From: from, End: end, Covered: covered, Filter: []byte{fill, fill, fill}}
	}
	read := func() []rooms.SummaryRow {
		t.Helper()
		rows, err := e.s.Summaries(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	if rows := read(); len(rows) != 0 {
		t.Fatalf("a room without summary has %d rows", len(rows))
	}
	for _, step := range []struct {
		r    rooms.SummaryRow
		want byte // the filter stored for segment 0 afterwards
	}{
		{row(0, 0, 16, 8, 1), 1},
		{row(0, 0, 16, 4, 2), 1},  // covers less: ignored
		{row(0, 0, 32, 12, 3), 1}, // another layout: ignored
		{row(0, 0, 16, 12, 4), 4}, // covers more: replaces
		{row(1, 16, 48, 20, 5), 4},
	} {
		if err := e.s.SaveSummary(ctx, room, step.r); err != nil {
			t.Fatalf("save %+v: %v", step.r, err)
		}
		if rows := read(); rows[0].Filter[0] != step.want || rows[0].End != 16 {
			t.Fatalf("after saving %+v segment 0 is %+v, want filter %d", step.r, rows[0], step.want)
		}
	}
	rows := read()
	if len(rows) != 2 || rows[1].Seg != 1 || rows[1].From != 16 || rows[1].End != 48 || rows[1].Covered != 20 {
		t.Fatalf("rows %+v", rows)
	}
	rows[0].Filter[0] = 99
	if read()[0].Filter[0] != 4 {
		t.Fatal("changing a filter Summaries returned changed the stored one")
	}
	// Hubs racing to save one segment: each save succeeds or conflicts
	// retryably, and the row stays whole: its filter is the one saved with
	// its coverage.
	var wg sync.WaitGroup
	for i := int64(0); i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.s.SaveSummary(ctx, room, row(1, 16, 48, 21+i, byte(10+i))); err != nil && txn.Classify(err).Class != txn.Retry {
				t.Errorf("racing save: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := read()[1]; got.Covered < 21 || got.Filter[0] != byte(10+got.Covered-21) {
		t.Fatalf("after racing saves segment 1 is %+v", got)
	}
}
