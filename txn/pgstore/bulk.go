package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotrow/rooms"
	"hotrow/rooms/auction"
)

// BidInput is one bid message to import: who sent it, its id, its amount,
// and the database time its transaction would have read.
type BidInput struct {
	Bidder string
	MsgID  string
	Amount auction.Cents
	At     time.Time
}

// ImportBids writes n bids into the auction id, as if hubs had committed
// them one by one, each at its first attempt: the rows of events, bids and
// applied are those the bid transaction writes (auction.BidWrite), streamed
// with COPY, then the auction's row and its room's version are set once.
// next(i) gives the i-th bid; every one must be accepted by the rules, in
// order, or nothing is imported. It is for PostgreSQL only (benchmarks,
// migrations from another system): COPY is no DSQL transaction, and nothing
// else may write to the auction meanwhile.
func (s *Store) ImportBids(ctx context.Context, id string, n int, next func(i int) BidInput) (auction.Auction, int64, error) {
	if s.dialect == DSQL {
		return auction.Auction{}, 0, errors.New("ImportBids streams with COPY: PostgreSQL only")
	}
	a0, v0, err := s.Auctions().Get(ctx, id)
	if err != nil {
		return a0, 0, err
	}
	// replay calls row for each bid with what the transaction would write.
	replay := func(row func(b auction.Bid, ev rooms.Event) []any) pgx.CopyFromSource {
		a, v, i := a0, v0, 0
		var vals []any
		var err error
		return pgx.CopyFromFunc(func() ([]any, error) {
			if i == n || err != nil {
				return nil, err
			}
			in := next(i)
			na, b, ev, rej := auction.BidWrite(a, v, in.Amount, in.Bidder, in.MsgID, in.At)
			if rej != nil {
				err = fmt.Errorf("bid %d (%s by %s): %w", i, in.MsgID, in.Bidder, rej)
				return nil, err
			}
			a, v, i = na, ev.Version, i+1
			vals = row(b, ev)
			return vals, nil
		})
	}
	var last auction.Auction
	err = s.attempt(ctx, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"room", "version", "kind", "by_user", "at", "data", "state"},
			replay(func(_ auction.Bid, ev rooms.Event) []any {
				return []any{ev.Room, ev.Version, ev.Kind, ev.By, ev.At, string(ev.Data), nullable(ev.State)}
			})); err != nil {
			return fmt.Errorf("copying events: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bids"}, []string{"auction_id", "version", "amount", "bidder", "at", "msg_id"},
			replay(func(b auction.Bid, _ rooms.Event) []any {
				return []any{b.AuctionID, b.Version, int64(b.Amount), b.Bidder, b.At, b.MsgID}
			})); err != nil {
			return fmt.Errorf("copying bids: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"applied"}, []string{"room", "user_id", "msg_id", "version", "attempts"},
			replay(func(b auction.Bid, ev rooms.Event) []any {
				st := rooms.Stamp{Attempts: 1}.Applied(ev.Version)
				return []any{ev.Room, b.Bidder, b.MsgID, st.Version, st.Attempts}
			})); err != nil {
			return fmt.Errorf("copying idempotency records: %w", err)
		}
		a, v := a0, v0+int64(n)
		for i := 0; i < n; i++ {
			in := next(i)
			a, _ = a.PlaceBid(in.Amount, in.Bidder, in.At) // what BidWrite does to the auction
		}
		last = a
		b := &pgx.Batch{}
		b.Queue(`UPDATE auctions SET current_bid = $2, leader = $3, bids = $4, ends_at = $5 WHERE id = $1`,
			a.ID, int64(a.CurrentBid), a.Leader, a.Bids, a.EndsAt)
		b.Queue(`UPDATE rooms SET version = $2 WHERE room = $1 AND version = $3`, auction.Room(id), v, v0).
			Exec(expectOne("moving the room's version"))
		return tx.SendBatch(ctx, b).Close()
	})
	return last, v0 + int64(n), err
}
