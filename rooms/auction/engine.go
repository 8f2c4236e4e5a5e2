package auction

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/txn"
)

// Deps are what an auction engine needs.
type Deps struct {
	Store  Store
	Runner *txn.Runner
	Clock  clock.Clock
	Logger *slog.Logger
}

// Factory returns the rooms.Factory for auction rooms.
func Factory(d Deps) rooms.Factory {
	return func(id string) rooms.Engine { return &Engine{Deps: d, id: id, room: Room(id)} }
}

// Engine is one auction room on this hub. Its methods are called only by
// the room's sequencer.
type Engine struct {
	Deps
	id, room string
	a        Auction
	// applied: a resend is answered from here, and a bid below the minimum
	// is early-rejected only when its id is not here (a bid committed later
	// than the version this hub knows cannot be below the minimum).
	applied rooms.AppliedSet
}

// Load implements rooms.Engine.
func (e *Engine) Load(ctx context.Context) (int64, error) {
	a, v, err := e.Store.Get(ctx, e.id)
	if err != nil {
		return 0, err
	}
	ids, err := e.Store.AppliedIDs(ctx, e.room)
	if err != nil {
		return 0, err
	}
	e.a, e.applied = a, ids
	return v, nil
}

// Observe implements rooms.Engine.
func (e *Engine) Observe(ev rooms.Event) {
	var s State
	if err := json.Unmarshal(ev.State, &s); err != nil {
		e.Logger.Error("auction event has no readable state", "room", e.room, "version", ev.Version, "err", err)
		return
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
			e.applied.Learn(d.Bidder, d.ID, ev.Version)
		}
	}
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
		return e.close(ctx)
	}
	return rooms.Outcome{Reject: &rooms.RejectReply{Reason: "invalid_request", Message: "auctions take bids only"}}
}

func (e *Engine) bid(ctx context.Context, m *rooms.Mutation) rooms.Outcome {
	amount, err := parseAmount(m.Payload)
	if err != nil {
		return rejectOutcome(&Rejection{Reason: ReasonInvalidAmount, Message: err.Error()})
	}
	if prior, ok := e.applied.Answer(m.User, m.ID); ok {
		return rooms.Outcome{Version: prior.Version, Attempts: prior.Attempts}
	}
	// Monotonic early rejection: the price only rises, so a bid below the
	// minimum of a committed state is certainly too low.
	if !e.applied.Known(m.User, m.ID) {
		if e.a.Closed {
			return rejectOutcome(reject(ReasonEnded, "the auction is closed"))
		}
		if min := e.a.MinNextBid(); amount < min {
			r := reject(ReasonBidTooLow, "the lowest acceptable bid is %s", min)
			r.Min = &min
			return rejectOutcome(r)
		}
	}
	var (
		attempts int
		dup      *rooms.Applied
		ev       rooms.Event
	)
	res, err := e.Runner.Run(ctx, "auction", "bid", func(ctx context.Context) error {
		attempts++
		dup = nil
		return e.Store.Attempt(ctx, func(tx Tx) error {
			if ap, found, err := tx.FindApplied(ctx, e.room, m.User, m.ID); err != nil {
				return err
			} else if found {
				dup = &ap
				return nil
			}
			a, v, err := tx.Load(ctx, e.id)
			if err != nil {
				return err
			}
			now, err := tx.Now(ctx)
			if err != nil {
				return err
			}
			na, rej := a.PlaceBid(amount, m.User, now)
			if rej != nil {
				return rej
			}
			ev = newEvent(&na, v+1, KindBid, m.User, now, BidData{Amount: amount, Bidder: m.User, EndsAt: na.EndsAt.UTC(), ID: m.ID})
			b := Bid{AuctionID: e.id, Version: v + 1, Amount: amount, Bidder: m.User, At: now, MsgID: m.ID}
			return tx.SaveBid(ctx, na, b, ev, rooms.Applied{Version: v + 1, Attempts: attempts})
		})
	})
	if err != nil {
		return e.failure(err, "bid")
	}
	if dup != nil {
		e.applied.Record(m.User, m.ID, *dup)
		return rooms.Outcome{Version: dup.Version, Attempts: dup.Attempts}
	}
	e.applied.Record(m.User, m.ID, rooms.Applied{Version: ev.Version, Attempts: res.Attempts})
	return rooms.Outcome{Event: &ev, Version: ev.Version, Attempts: res.Attempts}
}

func (e *Engine) close(ctx context.Context) rooms.Outcome {
	var ev rooms.Event
	res, err := e.Runner.Run(ctx, "auction", "close", func(ctx context.Context) error {
		return e.Store.Attempt(ctx, func(tx Tx) error {
			a, v, err := tx.Load(ctx, e.id)
			if err != nil {
				return err
			}
			now, err := tx.Now(ctx)
			if err != nil {
				return err
			}
			na, rej := a.Close(now)
			if rej != nil {
				return rej
			}
			var d ClosedData
			if na.Winner != "" {
				w, fp := na.Winner, na.FinalPrice
				d.Winner, d.FinalPrice = &w, &fp
			}
			ev = newEvent(&na, v+1, KindClosed, "", now, d)
			return tx.SaveClose(ctx, na, ev)
		})
	})
	if err != nil {
		return e.failure(err, "close")
	}
	return rooms.Outcome{Event: &ev, Version: ev.Version, Attempts: res.Attempts}
}

// failure turns a failed Run into the reply: a rejection as is, anything
// else as unavailable (logged here, once).
func (e *Engine) failure(err error, op string) rooms.Outcome {
	var rej *Rejection
	if errors.As(err, &rej) {
		return rejectOutcome(rej)
	}
	e.Logger.Error("auction transaction failed", "room", e.room, "op", op, "err", err)
	msg := "the bid could not be committed right now; resending the same id is safe"
	if errors.Is(err, txn.ErrTooLarge) {
		msg = "the bid's transaction exceeded the database's limits (Aurora DSQL: 3,000 rows, 10 MiB) and had no effect; resending will not help"
	}
	return rejectOutcome(&Rejection{Reason: ReasonUnavailable, Message: msg})
}

func rejectOutcome(r *Rejection) rooms.Outcome {
	rr := &rooms.RejectReply{Reason: r.Reason, Message: r.Message}
	if r.Min != nil {
		rr.Min = r.Min.String()
	}
	return rooms.Outcome{Reject: rr}
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
