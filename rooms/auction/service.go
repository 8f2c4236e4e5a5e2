package auction

import (
	"context"
	"time"

	"hotrow/txn"
)

// Create validates req and commits a new auction (room version 1, event
// "created") in one retried transaction.
func Create(ctx context.Context, store Store, runner *txn.Runner, req CreateRequest, by string, now time.Time, newID func() string) (Auction, error) {
	a, err := req.Build(now, newID)
	if err != nil {
		return a, err
	}
	ev := newEvent(&a, 1, KindCreated, by, a.CreatedAt, CreatedData{Title: a.Title})
	_, err = runner.Run(ctx, "auction", "create", func(ctx context.Context) error {
		return store.Attempt(ctx, func(tx Tx) error { return tx.Create(ctx, a, ev) })
	})
	return a, err
}
