package auction

import (
	"context"
	"errors"
	"fmt"

	"hotrow/rooms"
)

// Service is what the HTTP layer calls. Errors: *rooms.FieldError (400),
// rooms.ErrNotFound (404), rooms.ErrExists (409); anything else is a store
// failure.
type Service struct {
	store Store
	d     rooms.Deps
}

// NewService makes the auction service on st.
func NewService(st Store, d rooms.Deps) *Service {
	return &Service{store: st, d: d.WithDefaults()}
}

// Create validates req and commits a new auction (room version 1, event
// "created") in one retried transaction.
//
// A retry after a COMMIT whose outcome was unknown may find the auction
// already there. If it is exactly the one this call built (same id, title,
// prices, times to the microsecond), the earlier attempt committed and the
// create succeeded; otherwise the id belongs to someone else:
// rooms.ErrExists.
func (s *Service) Create(ctx context.Context, req CreateRequest, by string) (Auction, error) {
	a, err := req.Build(s.d.Clock.Now(), s.d.NewID)
	if err != nil {
		return a, err
	}
	ev := newEvent(&a, 1, KindCreated, by, a.CreatedAt, CreatedData{Title: a.Title})
	attempts := 0
	_, err = s.d.Runner.Run(ctx, Kind, "create", func(ctx context.Context) error {
		attempts++
		return s.store.Attempt(ctx, a.ID, rooms.Key{}, func(tx Tx) error { return tx.Create(ctx, a, ev) })
	})
	if errors.Is(err, rooms.ErrExists) && attempts > 1 {
		if got, _, gerr := s.store.Get(ctx, a.ID); gerr == nil && got == a {
			return a, nil
		}
	}
	return a, err
}

// Get reads one auction as committed, with its room version.
func (s *Service) Get(ctx context.Context, id string) (Auction, int64, error) {
	return s.store.Get(ctx, id)
}

// List returns every auction, newest first.
func (s *Service) List(ctx context.Context) ([]Auction, error) {
	return s.store.List(ctx)
}

// Bids returns an auction's accepted bids, oldest first;
// rooms.ErrNotFound when there is no such auction.
func (s *Service) Bids(ctx context.Context, id string) ([]Bid, error) {
	if _, _, err := s.store.Get(ctx, id); err != nil {
		return nil, err
	}
	bids, err := s.store.Bids(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading the bids of auction %s: %w", id, err)
	}
	return bids, nil
}

// NewCreatedEvent is the event that creates a (version 1), for stores' tests.
func NewCreatedEvent(a *Auction) rooms.Event {
	return newEvent(a, 1, KindCreated, "test", a.CreatedAt, CreatedData{Title: a.Title})
}
