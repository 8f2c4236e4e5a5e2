package rooms

import (
	"context"
	"errors"

	"hotrow/txn"
)

// AppliedFinder is what the idempotent commit needs of every room kind's
// transaction: the stored idempotency record of a message, if any.
type AppliedFinder interface {
	FindApplied(ctx context.Context, room, user, id string) (Applied, bool, error)
}

// AppliedReader reads a room's idempotency records outside a transaction.
type AppliedReader interface {
	// AppliedIDs returns every idempotency record of a room, keyed by
	// AppliedKey(user, id).
	AppliedIDs(ctx context.Context, room string) (map[string]Applied, error)
}

// Committer is the part of a room engine that every kind shares: the room's
// store S, and running a message as one idempotent, retried transaction
// there while remembering which messages committed. Engines embed one and
// give it only their rule and their writes.
type Committer[S AppliedReader] struct {
	Deps
	Kind  string // the kind label of the txn metrics
	ID    string // the room's id
	Room  string // "kind:id"
	Store S      // the kind's store, which also reads idempotency records
	// Applied is what this hub knows of the room's committed message ids.
	Applied AppliedSet
}

// NewCommitter is the committer of room kind:id on store st.
func NewCommitter[S AppliedReader](kind, id string, d Deps, st S) Committer[S] {
	return Committer[S]{Deps: d, Kind: kind, ID: id, Room: kind + ":" + id, Store: st}
}

// Load reads the room with get (its committed state and version), then its
// idempotency records.
func (c *Committer[S]) Load(ctx context.Context, get func(ctx context.Context) (int64, error)) (int64, error) {
	v, err := get(ctx)
	if err != nil {
		return 0, err
	}
	ids, err := c.Store.AppliedIDs(ctx, c.Room)
	if err != nil {
		return 0, err
	}
	c.Applied = ids
	return v, nil
}

// Answer returns the ack for a resend of m that this hub can give from
// memory, without a transaction.
func (c *Committer[S]) Answer(m *Mutation) (Outcome, bool) {
	if m.ID == "" {
		return Outcome{}, false
	}
	if prior, ok := c.Applied.Answer(m.User, m.ID); ok {
		return Outcome{Version: prior.Version, Attempts: prior.Attempts}, true
	}
	return Outcome{}, false
}

// Known reports whether m committed at or before the newest version this
// hub knows. An engine may early-reject m only when it is not Known: a
// resend of a committed message must get its ack, never a rejection.
func (c *Committer[S]) Known(m *Mutation) bool {
	return m.ID != "" && c.Applied.Known(m.User, m.ID)
}

// Stamp is what a write needs to store the message's idempotency record.
type Stamp struct {
	Attempts int // the attempt this is, 1 for the first
}

// Applied is the idempotency record of a message committed as version.
func (s Stamp) Applied(version int64) Applied {
	return Applied{Version: version, Attempts: s.Attempts}
}

// Commit runs m as one retried transaction. Each attempt opens a
// transaction with attempt (the store's Attempt), looks up m's idempotency
// record, and, when m has not committed yet, calls write, which applies the
// kind's rule in tx, stores the change, the event and the idempotency
// record (stamp.Applied(version)), and returns the event. A resend answers
// with the original ack; a rule's *Rejection, or a failure, becomes the
// reject reply (see Failure). Internal ops (no m.ID) have no idempotency
// record.
func Commit[T AppliedFinder, S AppliedReader](ctx context.Context, c *Committer[S], m *Mutation, op string,
	attempt func(ctx context.Context, fn func(T) error) error,
	write func(ctx context.Context, tx T, stamp Stamp) (Event, error)) Outcome {
	if out, ok := c.Answer(m); ok {
		return out
	}
	var (
		stamp Stamp
		dup   *Applied
		ev    Event
	)
	res, err := c.Runner.Run(ctx, c.Kind, op, func(ctx context.Context) error {
		stamp.Attempts++
		dup = nil
		return attempt(ctx, func(tx T) error {
			if m.ID != "" {
				ap, found, err := tx.FindApplied(ctx, c.Room, m.User, m.ID)
				if err != nil {
					return err
				}
				if found {
					dup = &ap
					return nil
				}
			}
			var err error
			ev, err = write(ctx, tx, stamp)
			return err
		})
	})
	if err != nil {
		return c.Failure(err, m.Op, op)
	}
	if dup != nil {
		c.Applied.Record(m.User, m.ID, *dup)
		return Outcome{Version: dup.Version, Attempts: dup.Attempts}
	}
	if m.ID != "" {
		c.Applied.Record(m.User, m.ID, Applied{Version: ev.Version, Attempts: res.Attempts})
	}
	return Outcome{Event: &ev, Version: ev.Version, Attempts: res.Attempts}
}

// Failure turns a failed transaction into the reply: a *Rejection as is;
// anything else, logged here once, as unavailable. what names the message
// for the client ("bid", "edit").
func (c *Committer[S]) Failure(err error, what, op string) Outcome {
	var rej *Rejection
	if errors.As(err, &rej) {
		return Outcome{Reject: rej}
	}
	c.Logger.Error("room transaction failed", "kind", c.Kind, "room", c.Room, "op", op, "err", err)
	if what == "" {
		what = "message"
	}
	msg := "the " + what + " could not be committed right now; resending the same id is safe"
	if limit, ok := txn.ExceededLimit(err); ok || errors.Is(err, txn.ErrTooLarge) {
		if !ok {
			limit = txn.LimitUnknown
		}
		msg = "the " + what + "'s transaction exceeded a database limit (" + limit.Describe() + ") and had no effect; resending will not help"
	}
	return Outcome{Reject: &Rejection{Reason: ReasonUnavailable, Message: msg}}
}
