package auction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"hotrow/rooms"
)

// Engine is one auction room on this hub. Its methods are called only by
// the room's sequencer.
type Engine struct {
	// Committer runs bids as idempotent transactions and knows which bids
	// committed: a resend is answered from its memory, through its Lookup
	// (one below the minimum), or by its transaction; and a bid below the
	// minimum is early-rejected only when Lookup finds it NotCommitted (a
	// bid committed later than the version this hub knows cannot be below
	// the minimum).
	rooms.Committer[Store]
	a Auction
}

// Load implements rooms.Engine: the auction as committed, and which bids
// committed.
func (e *Engine) Load(ctx context.Context) (int64, error) { return e.Committer.Load(ctx, e.get) }

func (e *Engine) get(ctx context.Context) (version int64, err error) {
	e.a, version, err = e.Store.Get(ctx, e.ID)
	return version, err
}

// Observe implements rooms.Engine: every auction event carries the whole
// state after it.
func (e *Engine) Observe(ev rooms.Event) error {
	var s State
	if err := json.Unmarshal(ev.State, &s); err != nil {
		return fmt.Errorf("auction event v%d has no readable state: %w", ev.Version, err)
	}
	created := e.a.CreatedAt
	e.a = FromState(s)
	e.a.CreatedAt = created
	switch ev.Kind {
	case KindClosed:
		e.a.Closed = true
	case KindBid:
		var d BidData
		if json.Unmarshal(ev.Data, &d) == nil && d.ID != "" {
			e.Applied.Learn(d.Bidder, d.ID, ev.Version)
		}
	}
	return nil
}

// State implements rooms.Engine.
func (e *Engine) State(now time.Time) any { return e.a.StateAt(now) }

// Deadline implements rooms.Deadliner: an open auction wants closing at
// ends_at.
func (e *Engine) Deadline() (time.Time, bool) { return e.a.EndsAt, !e.a.Closed }

// Apply implements rooms.Engine.
func (e *Engine) Apply(ctx context.Context, m *rooms.Mutation) rooms.Outcome {
	switch m.Op {
	case "bid":
		return e.bid(ctx, m)
	case "close":
		return e.close(ctx, m)
	}
	return rooms.Outcome{Reject: reject(rooms.ReasonInvalidRequest, "auctions take bids only")}
}

func (e *Engine) bid(ctx context.Context, m *rooms.Mutation) rooms.Outcome {
	amount, err := parseAmount(m.Payload)
	if err != nil {
		return rooms.Outcome{Reject: reject(ReasonInvalidAmount, "%s", err)}
	}
	// A resend gets its original ack, however old, from memory when it can.
	if out, ok := e.Answer(m); ok {
		return out
	}
	// Monotonic early rejection: the price only rises, so a bid below the
	// minimum of a committed state is certainly too low. Only a bid
	// certainly not committed may be rejected early: Lookup settles it,
	// with a point read when the summary says maybe. A bid that would not
	// be rejected early goes to its transaction without that read: the
	// transaction's first round trip reads its idempotency record anyway.
	if rej := e.earlyReject(amount); rej != nil {
		out, prior := e.Lookup(ctx, m)
		switch prior {
		case rooms.Committed:
			return out
		case rooms.NotCommitted:
			return rooms.Outcome{Reject: rej}
		}
	}
	return rooms.Commit(ctx, &e.Committer, m, "bid", e.Store.Attempt, func(ctx context.Context, tx Tx, st rooms.Stamp) (rooms.Event, error) {
		a, v, err := tx.Load()
		if err != nil {
			return rooms.Event{}, err
		}
		na, b, ev, rej := BidWrite(a, v, amount, m.User, m.ID, tx.Now())
		if rej != nil {
			return rooms.Event{}, rej
		}
		return ev, tx.SaveBid(ctx, na, b, ev, st.Applied(ev.Version))
	})
}

// earlyReject is the rejection a bid of amount gets from the committed
// state this hub knows, if any.
func (e *Engine) earlyReject(amount Cents) *rooms.Rejection {
	if e.a.Closed {
		return reject(ReasonEnded, "the auction is closed")
	}
	if min := e.a.MinNextBid(); amount < min {
		return tooLow(min)
	}
	return nil
}

func (e *Engine) close(ctx context.Context, m *rooms.Mutation) rooms.Outcome {
	return rooms.Commit(ctx, &e.Committer, m, "close", e.Store.Attempt, func(ctx context.Context, tx Tx, _ rooms.Stamp) (rooms.Event, error) {
		a, v, err := tx.Load()
		if err != nil {
			return rooms.Event{}, err
		}
		now := tx.Now()
		na, rej := a.Close(now)
		if rej != nil {
			return rooms.Event{}, rej
		}
		var d ClosedData
		if na.Winner != "" {
			w, fp := na.Winner, na.FinalPrice
			d.Winner, d.FinalPrice = &w, &fp
		}
		ev := newEvent(&na, v+1, KindClosed, "", now, d)
		return ev, tx.SaveClose(ctx, na, ev)
	})
}

// parseAmount reads the bid's amount: a JSON string holding a decimal.
func parseAmount(raw json.RawMessage) (Cents, error) {
	if len(raw) == 0 {
		return 0, errors.New("amount is required: a decimal string such as \"110.00\"")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, errors.New("amount must be a decimal string such as \"110.00\", not a JSON number")
	}
	c, err := ParseCents(s)
	if err != nil {
		return 0, err
	}
	if c <= 0 {
		return 0, errors.New("amount must be at least 0.01")
	}
	return c, nil
}

var _ rooms.Deadliner = (*Engine)(nil)
