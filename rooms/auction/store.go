package auction

import (
	"context"
	"time"

	"hotrow/rooms"
)

// Tx is one database transaction as the auction rules use it. Every write
// method also bumps the room version to ev.Version and appends ev to the
// event log, in the same transaction.
type Tx interface {
	// FindApplied looks up a message already committed in a room by a user.
	rooms.AppliedFinder
	// Now is the database's clock: it decides whether a bid came in time.
	Now(ctx context.Context) (time.Time, error)
	// Load reads the auction and its room version; rooms.ErrNotFound if none.
	Load(ctx context.Context, id string) (Auction, int64, error)
	// SaveBid stores the new auction state, the bid row, ev, and the
	// idempotency record of (room, b.Bidder, b.MsgID).
	SaveBid(ctx context.Context, a Auction, b Bid, ev rooms.Event, applied rooms.Applied) error
	// SaveClose stores the closed auction and ev.
	SaveClose(ctx context.Context, a Auction, ev rooms.Event) error
	// Create stores a new auction, its room at version 1, and ev;
	// rooms.ErrExists if the id is taken.
	Create(ctx context.Context, a Auction, ev rooms.Event) error
}

// Store is where auctions live: the embedded store or PostgreSQL/DSQL.
type Store interface {
	// Attempt runs fn in one transaction (one attempt: begin, fn, commit),
	// rolling back when fn fails. Retrying is the caller's business.
	Attempt(ctx context.Context, fn func(Tx) error) error
	// Get reads one auction and its room version outside a transaction.
	Get(ctx context.Context, id string) (Auction, int64, error)
	// List returns every auction, newest first.
	List(ctx context.Context) ([]Auction, error)
	// Bids returns an auction's accepted bids, oldest first.
	Bids(ctx context.Context, id string) ([]Bid, error)
	// FindApplied, AppliedAfter and the summaries: the room's idempotency
	// records outside a transaction.
	rooms.AppliedStore
}

// Provider is a store that holds auctions.
type Provider interface {
	Auctions() Store
}
