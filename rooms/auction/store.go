package auction

import (
	"context"
	"time"

	"hotrow/rooms"
)

// Tx is one database transaction of one auction as the auction rules use
// it. What it reads, it read when it began (the first round trip: the
// message's idempotency record, the auction, its room version and the
// database's clock); what it writes goes to the database with its COMMIT
// (the second), or, in a store that cannot wait, at once. Every write
// method also bumps the room version to ev.Version and appends ev to the
// event log, in the same transaction.
type Tx interface {
	// Applied is the idempotency record of the attempt's key, if the
	// message committed before.
	rooms.Tx
	// Load is the auction and its room version as the transaction read
	// them; rooms.ErrNotFound if there is none.
	Load() (Auction, int64, error)
	// Now is the database's clock, read with the auction: it decides
	// whether a bid came in time. UTC, at microsecond precision.
	Now() time.Time
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
	// Attempt runs fn in one transaction of auction id (one attempt:
	// begin, fn, commit), rolling back when fn fails. The transaction
	// reads, as it begins, key's idempotency record (when key.ID is set),
	// the auction, its room version and the database's clock, which fn
	// finds in tx; the writes fn makes are sent with the COMMIT. On
	// PostgreSQL and DSQL that is two round trips. Retrying is the
	// caller's business.
	Attempt(ctx context.Context, id string, key rooms.Key, fn func(Tx) error) error
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
