package memstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
	"hotrow/txn/memstore"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newAuction(id string, created time.Time) auction.Auction {
	return auction.Auction{ID: id, Title: "Lamp " + id, StartingPrice: 10000, Increment: 500,
		StartsAt: created, EndsAt: created.Add(5 * time.Minute), CreatedAt: created}
}

func ev(id string, v int64, kind string) rooms.Event {
	return rooms.Event{Room: auction.Room(id), Version: v, Kind: kind, At: t0, Data: json.RawMessage(`{}`)}
}

func mustCreate(t *testing.T, s auction.Store, a auction.Auction) {
	t.Helper()
	if err := s.Attempt(context.Background(), func(tx auction.Tx) error {
		return tx.Create(context.Background(), a, ev(a.ID, 1, auction.KindCreated))
	}); err != nil {
		t.Fatalf("create %s: %v", a.ID, err)
	}
}

// placeBid runs one bid attempt the way the engine does.
func placeBid(ctx context.Context, s auction.Store, id, user, msg string, amount auction.Cents) error {
	return s.Attempt(ctx, func(tx auction.Tx) error {
		if _, found, err := tx.FindApplied(ctx, auction.Room(id), user, msg); err != nil || found {
			return err
		}
		a, v, err := tx.Load(ctx, id)
		if err != nil {
			return err
		}
		now, err := tx.Now(ctx)
		if err != nil {
			return err
		}
		na, rej := a.PlaceBid(amount, user, now)
		if rej != nil {
			return rej
		}
		e := ev(id, v+1, auction.KindBid)
		return tx.SaveBid(ctx, na, auction.Bid{AuctionID: id, Version: v + 1, Amount: amount, Bidder: user, At: now, MsgID: msg},
			e, rooms.Applied{Version: v + 1, Attempts: 1})
	})
}

func TestAuctionStoreCreateGetList(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	mem := memstore.New(clk)
	s := mem.Auctions()

	if _, _, err := s.Get(ctx, "nope"); !errors.Is(err, rooms.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
	mustCreate(t, s, newAuction("a1", t0))
	mustCreate(t, s, newAuction("a2", t0.Add(time.Second)))
	err := s.Attempt(ctx, func(tx auction.Tx) error {
		return tx.Create(ctx, newAuction("a1", t0), ev("a1", 1, auction.KindCreated))
	})
	if !errors.Is(err, rooms.ErrExists) {
		t.Fatalf("second create of a1: %v, want ErrExists", err)
	}
	a, v, err := s.Get(ctx, "a1")
	if err != nil || v != 1 || a.Title != "Lamp a1" {
		t.Fatalf("get: %+v v%d %v", a, v, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "a2" || list[1].ID != "a1" {
		t.Fatalf("list (newest first): %+v %v", list, err)
	}
	vs, err := mem.Versions(ctx, []string{"auction:a1", "auction:a2", "auction:nope"})
	if err != nil || len(vs) != 2 || vs["auction:a1"] != 1 {
		t.Fatalf("versions %v %v", vs, err)
	}
}

func TestAuctionStoreBidsLogAndApplied(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0.Add(123456789 * time.Nanosecond))
	mem := memstore.New(clk)
	s := mem.Auctions()
	mustCreate(t, s, newAuction("a1", t0))

	// The store's clock is the database's: microsecond precision, UTC.
	_ = s.Attempt(ctx, func(tx auction.Tx) error {
		now, err := tx.Now(ctx)
		if err != nil || !now.Equal(t0.Add(123456*time.Microsecond)) || now.Location() != time.UTC {
			t.Errorf("Now = %s %v", now, err)
		}
		return nil
	})

	for i, b := range []struct {
		user, msg string
		amount    auction.Cents
	}{{"bob", "m1", 10000}, {"carol", "m1", 10500}, {"bob", "m2", 20000}} {
		if err := placeBid(ctx, s, "a1", b.user, b.msg, b.amount); err != nil {
			t.Fatalf("bid %d: %v", i, err)
		}
	}
	bids, err := s.Bids(ctx, "a1")
	if err != nil || len(bids) != 3 {
		t.Fatalf("bids %+v %v", bids, err)
	}
	for i, b := range bids {
		if b.Version != int64(i+2) {
			t.Fatalf("bids not oldest first: %+v", bids)
		}
	}
	// A resend is found by (room, user, id), and has no effect.
	if err := placeBid(ctx, s, "a1", "bob", "m1", 10000); err != nil {
		t.Fatal(err)
	}
	if bids, _ := s.Bids(ctx, "a1"); len(bids) != 3 {
		t.Fatalf("%d bids after a resend", len(bids))
	}
	ids, err := s.AppliedIDs(ctx, "auction:a1")
	if err != nil || len(ids) != 3 || ids[rooms.AppliedKey("bob", "m1")].Version != 2 ||
		ids[rooms.AppliedKey("carol", "m1")].Version != 3 || ids[rooms.AppliedKey("bob", "m2")].Version != 4 {
		t.Fatalf("applied ids %v %v", ids, err)
	}
	evs, err := mem.EventsAfter(ctx, "auction:a1", 0, 10)
	if err != nil || len(evs) != 4 {
		t.Fatalf("events %d %v", len(evs), err)
	}
	for i, e := range evs {
		if e.Version != int64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
	}
	if evs, _ := mem.EventsAfter(ctx, "auction:a1", 2, 3); len(evs) != 1 || evs[0].Version != 3 {
		t.Fatalf("events (2,3]: %+v", evs)
	}
	a, v, _ := s.Get(ctx, "a1")
	if v != 4 || a.CurrentBid != 20000 || a.Bids != 3 {
		t.Fatalf("auction %+v v%d", a, v)
	}

	// A rejection rolls everything back.
	err = placeBid(ctx, s, "a1", "dave", "x", 100)
	var rej *rooms.Rejection
	if !errors.As(err, &rej) || rej.Reason != auction.ReasonBidTooLow {
		t.Fatalf("low bid: %v", err)
	}
	if _, v, _ := s.Get(ctx, "a1"); v != 4 {
		t.Fatalf("version %d after a rejection", v)
	}
	// An event that does not follow the stored version is refused.
	err = s.Attempt(ctx, func(tx auction.Tx) error {
		a, _, _ := tx.Load(ctx, "a1")
		return tx.SaveClose(ctx, a, ev("a1", 9, auction.KindClosed))
	})
	if err == nil {
		t.Fatal("an event with a gap was stored")
	}
}

func TestAuctionStoreConcurrentBidsConflict(t *testing.T) {
	// Two bid transactions on one auction from the same snapshot: the room
	// version is the conflict point, so the second commit fails retryably
	// and nothing of it is written.
	ctx := context.Background()
	mem := memstore.New(clock.NewFake(t0.Add(time.Minute)))
	s := mem.Auctions()
	mustCreate(t, s, newAuction("a1", t0))

	inFirst, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var firstErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		once := false
		firstErr = s.Attempt(ctx, func(tx auction.Tx) error {
			if _, _, err := tx.Load(ctx, "a1"); err != nil {
				return err
			}
			if !once {
				once = true
				close(inFirst)
				<-release
			}
			a, v, _ := tx.Load(ctx, "a1")
			na, _ := a.PlaceBid(10000, "bob", t0.Add(time.Minute))
			return tx.SaveBid(ctx, na, auction.Bid{AuctionID: "a1", Version: v + 1, Amount: 10000, Bidder: "bob", MsgID: "b"},
				ev("a1", v+1, auction.KindBid), rooms.Applied{Version: v + 1, Attempts: 1})
		})
	}()
	<-inFirst
	if err := placeBid(ctx, s, "a1", "carol", "c", 10000); err != nil {
		t.Fatal(err)
	}
	close(release)
	wg.Wait()
	if v := txn.Classify(firstErr); v.Class != txn.Retry {
		t.Fatalf("second committer: %v (%+v), want a retryable conflict", firstErr, v)
	}
	bids, _ := s.Bids(ctx, "a1")
	if len(bids) != 1 || bids[0].Bidder != "carol" {
		t.Fatalf("bids %+v", bids)
	}
	ids, _ := s.AppliedIDs(ctx, "auction:a1")
	if _, ok := ids[rooms.AppliedKey("bob", "b")]; ok {
		t.Fatal("the conflicting transaction's idempotency record was written")
	}
}

func TestAuctionStoreInjectedFailure(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New(clock.NewFake(t0.Add(time.Minute)))
	s := mem.Auctions()
	mustCreate(t, s, newAuction("a1", t0))
	boom := errors.New("injected")
	mem.KV().FailCommits(func() error { return boom })
	if err := placeBid(ctx, s, "a1", "bob", "b", 10000); !errors.Is(err, boom) {
		t.Fatalf("bid: %v", err)
	}
	mem.KV().FailCommits(nil)
	if _, v, _ := s.Get(ctx, "a1"); v != 1 {
		t.Fatalf("version %d after a failed commit", v)
	}
	if ids, _ := s.AppliedIDs(ctx, "auction:a1"); len(ids) != 0 {
		t.Fatalf("applied %v after a failed commit", ids)
	}
	// A cancelled context runs nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := placeBid(cctx, s, "a1", "bob", "b", 10000); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := placeBid(ctx, s, "a1", "bob", "b", 10000); err != nil {
		t.Fatal(err)
	}
}
