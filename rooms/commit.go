package rooms

import (
	"context"
	"errors"

	"hotrow/txn"
)

// AppliedFinder finds the stored idempotency record of a message, if any,
// outside a transaction: what a store offers (AppliedStore) for Lookup's
// point reads. In a transaction, Tx.Applied has it.
type AppliedFinder interface {
	FindApplied(ctx context.Context, room, user, id string) (Applied, bool, error)
}

// Key names a message's idempotency record: the message ID sent by User in
// Room. An internal op (the hub closing an auction) has no ID, and no
// record.
type Key struct {
	Room, User, ID string
}

// Tx is what the idempotent commit needs of every room kind's transaction:
// the stored idempotency record of the message the attempt runs, if it
// committed before. A store reads it in the transaction's first round trip,
// together with the room's state, so that a message costs two round trips
// to the database (see Commit).
type Tx interface {
	// Applied is the record of the attempt's Key, as the transaction's
	// snapshot holds it; none when the Key has no ID.
	Applied() (Applied, bool)
}

// Committer is the part of a room engine that every kind shares: the room's
// store S, and running a message as one idempotent, retried transaction
// there while remembering which messages committed. Engines embed one and
// give it only their rule and their writes.
type Committer[S AppliedStore] struct {
	Deps
	Kind  string // the kind label of the txn metrics
	ID    string // the room's id
	Room  string // "kind:id"
	Store S      // the kind's store, which also reads idempotency records
	// Applied is what this hub keeps of the room's committed message ids:
	// the newest in full, the older ones summarized.
	Applied AppliedIDs
}

// NewCommitter is the committer of room kind:id on store st.
func NewCommitter[S AppliedStore](kind, id string, d Deps, st S) Committer[S] {
	return Committer[S]{Deps: d.WithDefaults(), Kind: kind, ID: id, Room: kind + ":" + id, Store: st}
}

// Load reads the room with get (its committed state and version), then
// what this hub keeps of its ids: the stored summary and the records after
// it (LoadAppliedIDs), never the room's whole history.
func (c *Committer[S]) Load(ctx context.Context, get func(ctx context.Context) (int64, error)) (int64, error) {
	start := c.Clock.Now()
	v, err := get(ctx)
	if err != nil {
		return 0, err
	}
	state := c.Clock.Now()
	ids, err := LoadAppliedIDs(ctx, c.Store, c.Room, v, c.IDs, c.Logger)
	if err != nil {
		return 0, err
	}
	c.Applied = ids
	c.Logger.Debug("room loaded", "room", c.Room, "version", v, "state_took", state.Sub(start),
		"ids_took", c.Clock.Now().Sub(state), "window_ids", ids.Len(), "summary_covers", ids.Cover(), "summary_bytes", ids.SummaryBytes())
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

// Prior is what Lookup found of a message before any transaction.
type Prior int

const (
	// NotCommitted: the message did not commit at or before the newest
	// version this hub knows, so an engine may early-reject it.
	NotCommitted Prior = iota
	// Unsure: the store could not be asked; run the transaction, which
	// finds the message if it committed, and never early-reject.
	Unsure
	// Committed: the Outcome is the message's original ack.
	Committed
)

// Lookup says whether m committed before, without a transaction: from the
// window in memory when it is recent; with one indexed point read when the
// summary says it may be older, or when its ack is not at hand (an id
// learnt from another hub's event). An engine calls it before rejecting
// early: a resend of a committed message gets its ack, however old, never a
// rejection.
func (c *Committer[S]) Lookup(ctx context.Context, m *Mutation) (Outcome, Prior) {
	if m.ID == "" {
		return Outcome{}, NotCommitted
	}
	a, st := c.Applied.lookup(m.User, m.ID)
	switch st {
	case seenNot:
		return Outcome{}, NotCommitted
	case seenAck:
		return Outcome{Version: a.Version, Attempts: a.Attempts}, Committed
	}
	a, found, err := c.Store.FindApplied(ctx, c.Room, m.User, m.ID)
	switch {
	case err != nil:
		c.Logger.Warn("reading an idempotency record failed; running the transaction", "room", c.Room, "err", err)
		return Outcome{}, Unsure
	case !found && st == seenNoAck:
		return Outcome{}, Unsure // an event named it: let the transaction look
	case !found:
		return Outcome{}, NotCommitted
	}
	c.Applied.Record(m.User, m.ID, a)
	return Outcome{Version: a.Version, Attempts: a.Attempts}, Committed
}

// UpkeepDue reports whether Upkeep has work now that the room is at
// version known (a comparison: the sequencer asks after every message).
func (c *Committer[S]) UpkeepDue(known int64) bool { return c.Applied.upkeepDue(known) }

// Upkeep keeps the memory of the room's ids bounded as the room grows: once
// every IDConfig.Step versions it moves the window's oldest ids into the
// summary (one range read, one save of the summary). A failure is logged
// and tried again a little later; it costs memory, never correctness.
func (c *Committer[S]) Upkeep(ctx context.Context, known int64) {
	if err := c.Applied.upkeep(ctx, c.Store, c.Room, known, c.Logger); err != nil {
		c.Logger.Warn("moving idempotency records into the summary failed; will retry", "room", c.Room, "err", err)
	}
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
// transaction of the room with attempt (the store's Attempt), which reads,
// in its first round trip, m's idempotency record and the room's state;
// when m has not committed yet, Commit calls write, which applies the
// kind's rule to that state, queues the change, the event and the
// idempotency record (stamp.Applied(version)), and returns the event; the
// store sends the writes with the COMMIT in the second round trip. A resend
// answers with the original ack; a rule's *Rejection, or a failure, becomes
// the reject reply (see Failure). Internal ops (no m.ID) have no
// idempotency record.
func Commit[T Tx, S AppliedStore](ctx context.Context, c *Committer[S], m *Mutation, op string,
	attempt func(ctx context.Context, id string, key Key, fn func(T) error) error,
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
		return attempt(ctx, c.ID, Key{Room: c.Room, User: m.User, ID: m.ID}, func(tx T) error {
			if m.ID != "" {
				if ap, found := tx.Applied(); found {
					dup = &ap
					return nil
				}
			}
			var err error
			ev, err = write(ctx, tx, stamp)
			return err
		})
	})
	out := commitOutcome(c, m, op, err, dup, ev, res.Attempts)
	out.Tried, out.Retried = res.Attempts, res.Attempts-1
	if res.Outcome == txn.Exhausted {
		out.Retried = res.Attempts
	}
	return out
}

// commitOutcome is the reply to a message whose transaction ended with err,
// found it applied before (dup), or committed ev.
func commitOutcome[S AppliedStore](c *Committer[S], m *Mutation, op string, err error, dup *Applied, ev Event, attempts int) Outcome {
	if err != nil {
		return c.Failure(err, m.Op, op)
	}
	if dup != nil {
		c.Applied.Record(m.User, m.ID, *dup)
		return Outcome{Version: dup.Version, Attempts: dup.Attempts}
	}
	if m.ID != "" {
		c.Applied.Record(m.User, m.ID, Applied{Version: ev.Version, Attempts: attempts})
	}
	return Outcome{Event: &ev, Version: ev.Version, Attempts: attempts}
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
