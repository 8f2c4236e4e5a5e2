package auction

import (
	"context"
	"errors"
	"time"

	"hotrow/rooms"
	"hotrow/txn"
)

// Create validates req and commits a new auction (room version 1, event
// "created") in one retried transaction.
//
// A retry after a COMMIT whose outcome was unknown may find the auction
// already there. If it is exactly the one this call built (same id, title,
// prices, times to the microsecond), the earlier attempt committed and the
// create succeeded; otherwise the id belongs to someone else: ErrExists.
func Create(ctx context.Context, store Store, runner *txn.Runner, req CreateRequest, by string, now time.Time, newID func() string) (Auction, error) {
	a, err := req.Build(now, newID)
	if err != nil {
		return a, err
	}
	ev := newEvent(&a, 1, KindCreated, by, a.CreatedAt, CreatedData{Title: a.Title})
	attempts := 0
	_, err = runner.Run(ctx, "auction", "create", func(ctx context.Context) error {
		attempts++
		return store.Attempt(ctx, func(tx Tx) error { return tx.Create(ctx, a, ev) })
	})
	if errors.Is(err, ErrExists) && attempts > 1 {
		if got, _, gerr := store.Get(ctx, a.ID); gerr == nil && got == a {
			return a, nil
		}
	}
	return a, err
}

// NewCreatedEvent is the event that creates a (version 1), for stores' tests.
func NewCreatedEvent(a *Auction) rooms.Event {
	return newEvent(a, 1, KindCreated, "test", a.CreatedAt, CreatedData{Title: a.Title})
}
