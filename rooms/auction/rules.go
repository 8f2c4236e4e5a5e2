package auction

import (
	"time"

	"hotrow/rooms"
)

// Reject reasons for bids (docs/protocol.md, "Auctions"), besides the shared
// rooms.ReasonNotFound and rooms.ReasonUnavailable.
const (
	ReasonNotStarted    = "not_started"
	ReasonEnded         = "ended"
	ReasonBidTooLow     = "bid_too_low"
	ReasonInvalidAmount = "invalid_amount"
	reasonNotDue        = "not_due"
	reasonAlreadyClosed = "already_closed"
)

var reject = rooms.Reject

// CheckBid reports whether a bid of amount at now would be accepted, without
// changing a. A nil result means accepted.
func (a *Auction) CheckBid(amount Cents, now time.Time) *rooms.Rejection {
	if amount <= 0 || amount > MaxCents {
		return reject(ReasonInvalidAmount, "amount must be between 0.01 and %s", MaxCents)
	}
	if a.Closed || !now.Before(a.EndsAt) {
		return reject(ReasonEnded, "the auction ended at %s", a.EndsAt.UTC().Format(time.RFC3339Nano))
	}
	if now.Before(a.StartsAt) {
		return reject(ReasonNotStarted, "the auction starts at %s", a.StartsAt.UTC().Format(time.RFC3339))
	}
	if min := a.MinNextBid(); amount < min {
		return tooLow(min)
	}
	return nil
}

// PlaceBid applies a bid by bidder at now (the database's clock) and returns
// the new state, or the reason it was rejected. Anti-snipe: a bid accepted
// less than AntiSnipeWindow before EndsAt moves EndsAt to at least
// now+AntiSnipeExtend; EndsAt never moves earlier.
func (a Auction) PlaceBid(amount Cents, bidder string, now time.Time) (Auction, *rooms.Rejection) {
	if r := a.CheckBid(amount, now); r != nil {
		return a, r
	}
	a.CurrentBid = amount
	a.Leader = bidder
	a.Bids++
	if a.AntiSnipeWindow > 0 && a.EndsAt.Sub(now) < a.AntiSnipeWindow {
		if ext := now.Add(a.AntiSnipeExtend); ext.After(a.EndsAt) {
			a.EndsAt = ext
		}
	}
	return a, nil
}

// Due reports whether the auction should be closed at now.
func (a *Auction) Due(now time.Time) bool { return !a.Closed && !now.Before(a.EndsAt) }

// Close ends the auction at now: the leader wins at the current bid. It is
// rejected when the auction is already closed or not yet due, so closing
// happens exactly once.
func (a Auction) Close(now time.Time) (Auction, *rooms.Rejection) {
	if a.Closed {
		return a, reject(reasonAlreadyClosed, "the auction is already closed")
	}
	if now.Before(a.EndsAt) {
		return a, reject(reasonNotDue, "the auction ends at %s", a.EndsAt.UTC().Format(time.RFC3339Nano))
	}
	a.Closed = true
	if a.Bids > 0 {
		a.Winner = a.Leader
		a.FinalPrice = a.CurrentBid
	}
	return a, nil
}

// tooLow rejects a bid below min, naming min.
func tooLow(min Cents) *rooms.Rejection {
	r := reject(ReasonBidTooLow, "the lowest acceptable bid is %s", min)
	if min > MaxCents {
		r = reject(ReasonBidTooLow, "no higher bid is possible: the next bid would have to be at least %s, over the maximum %s", min, MaxCents)
	}
	r.Min = min.String()
	return r
}
