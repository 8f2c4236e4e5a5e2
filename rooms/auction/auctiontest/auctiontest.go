// Package auctiontest is the conformance suite every auction.Store runs,
// the embedded one and PostgreSQL alike: creating, reading and listing
// auctions, bids with their events and idempotency records, write-write
// conflicts between concurrent bids, rollback of failed and rejected
// transactions, money at its limits, and the auction engine over the store.
package auctiontest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
)

// Harness is one fresh store under test.
type Harness struct {
	Store auction.Store
	Log   rooms.Log
	// Rooms is the same store as compaction sees it.
	Rooms rooms.CompactStore
	// FailCommits, when set, makes every commit fail with err until it is
	// called with nil. When nil, the suite fails transactions after their
	// writes, before COMMIT, instead.
	FailCommits func(err error)
}

// Run runs the suite; open makes a fresh, empty store for each test. The
// store's clock must be close to the real one (the database's clock).
func Run(t *testing.T, open func(t *testing.T) Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"CreateGetList", testCreateGetList},
		{"BidsLogAndApplied", testBidsLogAndApplied},
		{"ConcurrentBidsConflict", testConcurrentBidsConflict},
		{"FailedCommitLeavesNothing", testFailedCommitLeavesNothing},
		{"CloseRoundTrip", testCloseRoundTrip},
		{"MoneyAtItsLimits", testMoneyAtItsLimits},
		{"EngineAtTheMaximum", testEngineAtTheMaximum},
		{"EngineResendsAcrossHubs", testEngineResendsAcrossHubs},
		{"ResendsOfAnyAge", testResendsOfAnyAge},
		{"CompactKeepsPromises", testCompactKeepsPromises},
		{"SummaryRows", testSummaryRows},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := open(t)
			e := &env{t: t, h: h, s: h.Store, fail: &atomic.Pointer[error]{}}
			if h.FailCommits == nil {
				e.s = failingStore{Store: h.Store, err: e.fail}
			}
			tc.fn(t, e)
		})
	}
}

type env struct {
	t    *testing.T
	h    Harness
	s    auction.Store // h.Store, or it wrapped to fail commits
	fail *atomic.Pointer[error]
}

// failingStore fails every transaction after fn's writes while an error is
// set, so that the store rolls it back.
type failingStore struct {
	auction.Store
	err *atomic.Pointer[error]
}

func (f failingStore) Attempt(ctx context.Context, id string, key rooms.Key, fn func(auction.Tx) error) error {
	return f.Store.Attempt(ctx, id, key, func(tx auction.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if p := f.err.Load(); p != nil {
			return *p
		}
		return nil
	})
}

func (e *env) setFail(err error) {
	if e.h.FailCommits != nil {
		e.h.FailCommits(err)
		return
	}
	if err == nil {
		e.fail.Store(nil)
	} else {
		e.fail.Store(&err)
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// base is a time a little in the past, at the database's precision.
func base() time.Time { return time.Now().UTC().Truncate(time.Microsecond).Add(-time.Minute) }

func newAuction(id string, created time.Time) auction.Auction {
	return auction.Auction{ID: id, Title: "Lamp " + id, StartingPrice: 10000, Increment: 500,
		StartsAt: created, EndsAt: created.Add(time.Hour), CreatedAt: created,
		AntiSnipeWindow: 30 * time.Second, AntiSnipeExtend: 30 * time.Second}
}

func event(id string, v int64, kind string, at time.Time) rooms.Event {
	return rooms.Event{Room: auction.Room(id), Version: v, Kind: kind, At: at, Data: json.RawMessage(`{}`)}
}

func (e *env) create(a auction.Auction) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.s.Attempt(ctx, a.ID, rooms.Key{}, func(tx auction.Tx) error {
		return tx.Create(ctx, a, auction.NewCreatedEvent(&a))
	}); err != nil {
		e.t.Fatalf("create %s: %v", a.ID, err)
	}
}

// bid runs one bid attempt the way the engine does.
func (e *env) bid(ctx context.Context, id, user, msg string, amount auction.Cents) error {
	return e.s.Attempt(ctx, id, rooms.Key{Room: auction.Room(id), User: user, ID: msg}, func(tx auction.Tx) error {
		if _, found := tx.Applied(); found {
			return nil
		}
		a, v, err := tx.Load()
		if err != nil {
			return err
		}
		now := tx.Now()
		na, rej := a.PlaceBid(amount, user, now)
		if rej != nil {
			return rej
		}
		return tx.SaveBid(ctx, na, auction.Bid{AuctionID: id, Version: v + 1, Amount: amount, Bidder: user, At: now, MsgID: msg},
			event(id, v+1, auction.KindBid, now), rooms.Applied{Version: v + 1, Attempts: 1})
	})
}

// applied reads every idempotency record of room the ways a hub does: by
// version (AppliedAfter, in pages, oldest first) and one at a time
// (FindApplied), and fails the test when the two disagree.
func (e *env) applied(room string) (map[string]rooms.Applied, error) {
	e.t.Helper()
	ctx := context.Background()
	out := map[string]rooms.Applied{}
	var after int64
	for {
		recs, err := e.s.AppliedAfter(ctx, room, after, 1<<62, 2)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if r.Version <= after {
				e.t.Fatalf("AppliedAfter(%d) returned version %d: not after, or not oldest first", after, r.Version)
			}
			after = r.Version
			out[rooms.AppliedKey(r.User, r.ID)] = r.Applied
			a, found, err := e.s.FindApplied(ctx, room, r.User, r.ID)
			if err != nil || !found || a != r.Applied {
				e.t.Fatalf("FindApplied(%s, %s) = %+v %v %v; AppliedAfter has %+v", r.User, r.ID, a, found, err, r.Applied)
			}
		}
		if len(recs) < 2 {
			return out, nil
		}
	}
}

func (e *env) version(id string) int64 {
	e.t.Helper()
	_, v, err := e.s.Get(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return v
}

func testCreateGetList(t *testing.T, e *env) {
	ctx := context.Background()
	if _, _, err := e.s.Get(ctx, "nope"); !errors.Is(err, rooms.ErrNotFound) {
		t.Fatalf("get missing: %v, want rooms.ErrNotFound", err)
	}
	t0 := base()
	a1 := newAuction("a1", t0)
	e.create(a1)
	e.create(newAuction("a2", t0.Add(time.Second)))
	err := e.s.Attempt(ctx, "a1", rooms.Key{}, func(tx auction.Tx) error {
		return tx.Create(ctx, newAuction("a1", t0), auction.NewCreatedEvent(&a1))
	})
	if !errors.Is(err, rooms.ErrExists) {
		t.Fatalf("second create of a1: %v, want rooms.ErrExists", err)
	}
	got, v, err := e.s.Get(ctx, "a1")
	if err != nil || v != 1 || got != a1 {
		t.Fatalf("get: %+v v%d %v, want %+v v1", got, v, err, a1)
	}
	list, err := e.s.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "a2" || list[1].ID != "a1" {
		t.Fatalf("list (newest first): %+v %v", list, err)
	}
	vs, err := e.h.Log.Versions(ctx, []string{"auction:a1", "auction:a2", "auction:nope"})
	if err != nil || len(vs) != 2 || vs["auction:a1"] != 1 || vs["auction:a2"] != 1 {
		t.Fatalf("versions %v %v", vs, err)
	}
	if bids, err := e.s.Bids(ctx, "a1"); err != nil || len(bids) != 0 {
		t.Fatalf("bids of a new auction: %+v %v", bids, err)
	}
}

func testBidsLogAndApplied(t *testing.T, e *env) {
	ctx := context.Background()
	e.create(newAuction("a1", base()))
	// The store's clock is the database's: microsecond precision, UTC.
	_ = e.s.Attempt(ctx, "a1", rooms.Key{}, func(tx auction.Tx) error {
		now := tx.Now()
		if now.IsZero() || !now.Equal(now.Truncate(time.Microsecond)) || now.Location() != time.UTC {
			t.Errorf("Now = %s, want UTC at microsecond precision", now)
		}
		return nil
	})
	for i, b := range []struct {
		user, msg string
		amount    auction.Cents
	}{{"bob", "m1", 10000}, {"carol", "m1", 10500}, {"bob", "m2", 20000}} {
		if err := e.bid(ctx, "a1", b.user, b.msg, b.amount); err != nil {
			t.Fatalf("bid %d: %v", i, err)
		}
	}
	bids, err := e.s.Bids(ctx, "a1")
	if err != nil || len(bids) != 3 {
		t.Fatalf("bids %+v %v", bids, err)
	}
	for i, b := range bids {
		if b.Version != int64(i+2) || b.AuctionID != "a1" || b.At.IsZero() {
			t.Fatalf("bids not oldest first, or incomplete: %+v", bids)
		}
	}
	if bids[1].Bidder != "carol" || bids[1].Amount != 10500 || bids[1].MsgID != "m1" {
		t.Fatalf("bid 2 = %+v", bids[1])
	}
	// A resend is found by (room, user, id), and has no effect.
	if err := e.bid(ctx, "a1", "bob", "m1", 10000); err != nil {
		t.Fatal(err)
	}
	if bids, _ := e.s.Bids(ctx, "a1"); len(bids) != 3 {
		t.Fatalf("%d bids after a resend", len(bids))
	}
	ids, err := e.applied("auction:a1")
	if err != nil || len(ids) != 3 || ids[rooms.AppliedKey("bob", "m1")].Version != 2 ||
		ids[rooms.AppliedKey("carol", "m1")].Version != 3 || ids[rooms.AppliedKey("bob", "m2")] != (rooms.Applied{Version: 4, Attempts: 1}) {
		t.Fatalf("applied ids %v %v", ids, err)
	}
	evs, err := e.h.Log.EventsAfter(ctx, "auction:a1", 0, 10)
	if err != nil || len(evs) != 4 {
		t.Fatalf("events %d %v", len(evs), err)
	}
	for i, ev := range evs {
		if ev.Version != int64(i+1) || ev.Room != "auction:a1" {
			t.Fatalf("event %d is %+v", i, ev)
		}
	}
	if evs[2].Kind != auction.KindBid || evs[0].Kind != auction.KindCreated || len(evs[0].State) == 0 {
		t.Fatalf("events lost their kind or state: %+v", evs)
	}
	if evs, _ := e.h.Log.EventsAfter(ctx, "auction:a1", 2, 3); len(evs) != 1 || evs[0].Version != 3 {
		t.Fatalf("events (2,3]: %+v", evs)
	}
	a, v, _ := e.s.Get(ctx, "a1")
	if v != 4 || a.CurrentBid != 20000 || a.Bids != 3 || a.Leader != "bob" {
		t.Fatalf("auction %+v v%d", a, v)
	}

	// A rejection rolls everything back.
	err = e.bid(ctx, "a1", "dave", "x", 100)
	var rej *rooms.Rejection
	if !errors.As(err, &rej) || rej.Reason != auction.ReasonBidTooLow {
		t.Fatalf("low bid: %v", err)
	}
	if v := e.version("a1"); v != 4 {
		t.Fatalf("version %d after a rejection", v)
	}
	// An event that does not follow the stored version is refused.
	err = e.s.Attempt(ctx, "a1", rooms.Key{}, func(tx auction.Tx) error {
		a, _, _ := tx.Load()
		return tx.SaveClose(ctx, a, event("a1", 9, auction.KindClosed, base()))
	})
	if err == nil {
		t.Fatal("an event with a gap was stored")
	}
	if v := e.version("a1"); v != 4 {
		t.Fatalf("version %d after a refused event", v)
	}
	if evs, err := e.h.Log.EventsAfter(ctx, "auction:a1", 4, 10); err != nil || len(evs) != 0 {
		t.Fatalf("events after a refused event: %+v %v", evs, err)
	}
	if a, _, _ := e.s.Get(ctx, "a1"); a.Closed {
		t.Fatal("a refused event's auction row was stored")
	}
}

// Two bid transactions on one auction from the same snapshot: the room
// version is the conflict point, so the second committer fails retryably
// and nothing of it is written.
func testConcurrentBidsConflict(t *testing.T, e *env) {
	ctx := context.Background()
	e.create(newAuction("a1", base()))
	inFirst, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var firstErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		firstErr = e.s.Attempt(ctx, "a1", rooms.Key{}, func(tx auction.Tx) error {
			a, v, err := tx.Load()
			if err != nil {
				return err
			}
			close(inFirst)
			<-release
			now := tx.Now()
			na, rej := a.PlaceBid(10000, "bob", now)
			if rej != nil {
				return rej
			}
			return tx.SaveBid(ctx, na, auction.Bid{AuctionID: "a1", Version: v + 1, Amount: 10000, Bidder: "bob", At: now, MsgID: "b"},
				event("a1", v+1, auction.KindBid, now), rooms.Applied{Version: v + 1, Attempts: 1})
		})
	}()
	<-inFirst
	if err := e.bid(ctx, "a1", "carol", "c", 10000); err != nil {
		t.Fatal(err)
	}
	close(release)
	wg.Wait()
	if v := txn.Classify(firstErr); v.Class != txn.Retry {
		t.Fatalf("second committer: %v (%+v), want a retryable conflict", firstErr, v)
	}
	bids, _ := e.s.Bids(ctx, "a1")
	if len(bids) != 1 || bids[0].Bidder != "carol" {
		t.Fatalf("bids %+v", bids)
	}
	ids, _ := e.applied("auction:a1")
	if _, ok := ids[rooms.AppliedKey("bob", "b")]; ok {
		t.Fatal("the conflicting transaction's idempotency record was written")
	}
}

func testFailedCommitLeavesNothing(t *testing.T, e *env) {
	ctx := context.Background()
	e.create(newAuction("a1", base()))
	boom := errors.New("injected")
	e.setFail(boom)
	if err := e.bid(ctx, "a1", "bob", "b", 10000); !errors.Is(err, boom) {
		t.Fatalf("bid: %v, want the injected failure", err)
	}
	e.setFail(nil)
	if v := e.version("a1"); v != 1 {
		t.Fatalf("version %d after a failed commit", v)
	}
	if ids, _ := e.applied("auction:a1"); len(ids) != 0 {
		t.Fatalf("applied %v after a failed commit", ids)
	}
	if bids, _ := e.s.Bids(ctx, "a1"); len(bids) != 0 {
		t.Fatalf("bids %v after a failed commit", bids)
	}
	// A cancelled context runs nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.bid(cctx, "a1", "bob", "b", 10000); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := e.bid(ctx, "a1", "bob", "b", 10000); err != nil {
		t.Fatal(err)
	}
}

func testCloseRoundTrip(t *testing.T, e *env) {
	ctx := context.Background()
	a := newAuction("a1", base())
	e.create(a)
	e.create(newAuction("a2", base()))
	if err := e.bid(ctx, "a1", "bob", "b", 12300); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2"} {
		err := e.s.Attempt(ctx, id, rooms.Key{}, func(tx auction.Tx) error {
			cur, v, err := tx.Load()
			if err != nil {
				return err
			}
			closed, rej := cur.Close(cur.EndsAt)
			if rej != nil {
				return rej
			}
			return tx.SaveClose(ctx, closed, event(id, v+1, auction.KindClosed, cur.EndsAt))
		})
		if err != nil {
			t.Fatalf("close %s: %v", id, err)
		}
	}
	got, v, err := e.s.Get(ctx, "a1")
	if err != nil || v != 3 || !got.Closed || got.Winner != "bob" || got.FinalPrice != 12300 || got.CurrentBid != 12300 {
		t.Fatalf("closed a1: %+v v%d %v", got, v, err)
	}
	got, v, err = e.s.Get(ctx, "a2")
	if err != nil || v != 2 || !got.Closed || got.Winner != "" || got.FinalPrice != 0 {
		t.Fatalf("closed a2 without bids: %+v v%d %v", got, v, err)
	}
}

// The largest amount the rules allow is stored and read back exactly.
func testMoneyAtItsLimits(t *testing.T, e *env) {
	ctx := context.Background()
	a := newAuction("rich", base())
	a.StartingPrice, a.Increment = auction.MaxCents-1, auction.MaxCents
	e.create(a)
	if err := e.bid(ctx, "rich", "bob", "b1", auction.MaxCents); err != nil {
		t.Fatalf("a bid of the maximum: %v", err)
	}
	got, _, err := e.s.Get(ctx, "rich")
	if err != nil || got.CurrentBid != auction.MaxCents || got.Increment != auction.MaxCents || got.StartingPrice != auction.MaxCents-1 {
		t.Fatalf("read back %+v %v", got, err)
	}
	bids, _ := e.s.Bids(ctx, "rich")
	if len(bids) != 1 || bids[0].Amount != auction.MaxCents {
		t.Fatalf("bids %+v", bids)
	}
}

// The engine over the store: a bid's ack, its resend answered from memory,
// and on another hub (a new engine) from the store, with the original
// version and attempts.
func testEngineResendsAcrossHubs(t *testing.T, e *env) {
	ctx := context.Background()
	deps := rooms.Deps{Runner: &txn.Runner{Policy: txn.Policy{MaxAttempts: 20, BaseDelay: time.Millisecond}}, Logger: quiet,
		NewID: func() string { return "gen" }}
	if _, err := auction.NewService(e.s, deps).Create(ctx, auction.CreateRequest{ID: "e1", Title: "Engine",
		StartingPrice: "1.00", Increment: "1.00"}, "seller"); err != nil {
		t.Fatal(err)
	}
	kind := auction.RoomKind(e.s, deps)
	hubA, hubB := kind.New("e1"), kind.New("e1")
	for _, h := range []rooms.Engine{hubA, hubB} {
		if v, err := h.Load(ctx); err != nil || v != 1 {
			t.Fatalf("load: v%d %v", v, err)
		}
	}
	amount := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	bid := &rooms.Mutation{Op: "bid", ID: "x1", User: "ann", Payload: amount("5.00")}
	out := hubA.Apply(ctx, bid)
	if out.Reject != nil || out.Event == nil || out.Version != 2 || out.Attempts != 1 {
		t.Fatalf("bid: %+v", out)
	}
	hubA.Observe(*out.Event)
	if again := hubA.Apply(ctx, bid); again.Event != nil || again.Version != 2 || again.Attempts != 1 {
		t.Fatalf("resend on the same hub: %+v", again)
	}
	// Hub B has not seen the event: the store answers the resend.
	if other := hubB.Apply(ctx, bid); other.Reject != nil || other.Event != nil || other.Version != 2 || other.Attempts != 1 {
		t.Fatalf("resend on another hub: %+v", other)
	}
	// A lower bid on hub B, which has not seen the bid, is refused in the
	// transaction, against the committed state.
	low := hubB.Apply(ctx, &rooms.Mutation{Op: "bid", ID: "x2", User: "bo", Payload: amount("5.00")})
	if low.Reject == nil || low.Reject.Reason != auction.ReasonBidTooLow || low.Reject.Min != "6.00" {
		t.Fatalf("low bid on a stale hub: %+v", low.Reject)
	}
	if bids, _ := e.s.Bids(ctx, "e1"); len(bids) != 1 {
		t.Fatalf("%d bids stored, want 1: %s", len(bids), fmt.Sprint(bids))
	}
}

// Bids at the largest amounts the rules allow go through the engine like
// any other: the maximum minus the increment, then the maximum, whose
// min_next_bid is above the maximum. The cached state follows every event,
// a new engine loads the same state from the store, the states encode and
// decode, and a further bid is refused the same way on every store.
func testEngineAtTheMaximum(t *testing.T, e *env) {
	ctx := context.Background()
	deps := rooms.Deps{Runner: &txn.Runner{Policy: txn.Policy{MaxAttempts: 20, BaseDelay: time.Millisecond}}, Logger: quiet,
		NewID: func() string { return "gen" }}
	max, inc := auction.MaxCents, auction.MaxCents-100
	if _, err := auction.NewService(e.s, deps).Create(ctx, auction.CreateRequest{ID: "top", Title: "Top",
		StartingPrice: "1.00", Increment: inc.String()}, "seller"); err != nil {
		t.Fatal(err)
	}
	kind := auction.RoomKind(e.s, deps)
	en := kind.New("top")
	if _, err := en.Load(ctx); err != nil {
		t.Fatal(err)
	}
	amount := func(c auction.Cents) json.RawMessage { b, _ := json.Marshal(c.String()); return b }
	state := func(en rooms.Engine) auction.State {
		t.Helper()
		b, err := json.Marshal(en.State(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		var s auction.State
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("the state %s does not decode: %v", b, err)
		}
		return s
	}
	for i, c := range []auction.Cents{100, max} {
		out := en.Apply(ctx, &rooms.Mutation{Op: "bid", ID: fmt.Sprint("m", i), User: "ann", Payload: amount(c)})
		if out.Reject != nil || out.Event == nil {
			t.Fatalf("a bid of %s: %+v", c, out.Reject)
		}
		if err := en.Observe(*out.Event); err != nil {
			t.Fatalf("observing the bid of %s: %v", c, err)
		}
		if s := state(en); s.CurrentBid == nil || *s.CurrentBid != c || s.MinNextBid != c+inc {
			t.Fatalf("after a bid of %s the engine holds current %v, min_next_bid %s", c, s.CurrentBid, s.MinNextBid)
		}
	}
	fresh := kind.New("top")
	if v, err := fresh.Load(ctx); err != nil || v != 3 {
		t.Fatalf("a new engine loads v%d %v", v, err)
	}
	if a, b := state(en), state(fresh); *a.CurrentBid != *b.CurrentBid || a.MinNextBid != b.MinNextBid || a.Bids != b.Bids {
		t.Fatalf("cached %+v, loaded %+v", a, b)
	}
	// Nothing can top the maximum: the engine says so without a
	// transaction, and the rule in the transaction (a new engine that has
	// not seen the bids would run it) agrees.
	for _, x := range []rooms.Engine{en, kind.New("top")} {
		out := x.Apply(ctx, &rooms.Mutation{Op: "bid", ID: "over", User: "bo", Payload: amount(max)})
		if out.Reject == nil || out.Reject.Reason != auction.ReasonBidTooLow {
			t.Fatalf("a bid of the maximum over the maximum: %+v", out)
		}
	}
}
