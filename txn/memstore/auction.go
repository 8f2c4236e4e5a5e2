package memstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"hotrow/rooms"
	"hotrow/rooms/auction"
)

func auctionKey(id string) string { return "auction/" + id }
func bidKey(id string, v int64) string {
	return fmt.Sprintf("bid/%s/%020d", id, v)
}

// Auctions returns the store as auction.Store.
func (s *Store) Auctions() auction.Store { return auctionStore{s, s} }

// auctionStore is the store as auction.Store; the idempotency records are
// the Store's own.
type auctionStore struct {
	rooms.AppliedStore
	s *Store
}

// auctionTx is a transaction of one auction, read as it began.
type auctionTx struct {
	RoomTx
	a   auction.Auction
	v   int64
	err error // reading the auction
	now time.Time
}

func (a auctionStore) Attempt(ctx context.Context, id string, key rooms.Key, fn func(auction.Tx) error) error {
	return a.s.Attempt(ctx, key, func(t RoomTx) error {
		tx := auctionTx{RoomTx: t}
		tx.a, tx.v, tx.err = loadAuction(t, id)
		tx.now, _ = t.Now(ctx)
		return fn(tx)
	})
}

func (a auctionStore) Get(ctx context.Context, id string) (auction.Auction, int64, error) {
	var (
		out auction.Auction
		v   int64
	)
	err := a.s.Read(ctx, func(t RoomTx) (err error) {
		out, v, err = loadAuction(t, id)
		return err
	})
	return out, v, err
}

func (a auctionStore) List(ctx context.Context) ([]auction.Auction, error) {
	var out []auction.Auction
	err := a.s.Read(ctx, func(t RoomTx) error {
		for _, e := range t.kv.Scan("auction/") {
			out = append(out, e.Val.(auction.Auction))
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, err
}

func (a auctionStore) Bids(ctx context.Context, id string) ([]auction.Bid, error) {
	var out []auction.Bid
	err := a.s.Read(ctx, func(t RoomTx) error {
		for _, e := range t.kv.Scan("bid/" + id + "/") {
			out = append(out, e.Val.(auction.Bid))
		}
		return nil
	})
	return out, err
}

func loadAuction(t RoomTx, id string) (auction.Auction, int64, error) {
	v, ok := t.kv.Get(auctionKey(id))
	if !ok {
		return auction.Auction{}, 0, fmt.Errorf("auction %s: %w", id, rooms.ErrNotFound)
	}
	version, _ := t.Version(auction.Room(id))
	return v.(auction.Auction), version, nil
}

func (t auctionTx) Load() (auction.Auction, int64, error) { return t.a, t.v, t.err }

func (t auctionTx) Now() time.Time { return t.now }

func (t auctionTx) SaveBid(ctx context.Context, a auction.Auction, b auction.Bid, ev rooms.Event, applied rooms.Applied) error {
	if err := t.Append(ev.Room, "auction", ev); err != nil {
		return err
	}
	t.kv.Put(auctionKey(a.ID), a)
	t.kv.Put(bidKey(a.ID, b.Version), b)
	t.RecordApplied(ev.Room, b.Bidder, b.MsgID, applied)
	return ctx.Err()
}

func (t auctionTx) SaveClose(ctx context.Context, a auction.Auction, ev rooms.Event) error {
	if err := t.Append(ev.Room, "auction", ev); err != nil {
		return err
	}
	t.kv.Put(auctionKey(a.ID), a)
	return ctx.Err()
}

func (t auctionTx) Create(ctx context.Context, a auction.Auction, ev rooms.Event) error {
	if _, ok := t.Version(ev.Room); ok {
		return fmt.Errorf("auction %s: %w", a.ID, rooms.ErrExists)
	}
	if err := t.Append(ev.Room, "auction", ev); err != nil {
		return err
	}
	t.kv.Put(auctionKey(a.ID), a)
	return ctx.Err()
}
