// Package auction holds the live-auction room: the rules as plain Go
// (testable without a socket or a database), the transaction that applies a
// bid or closes an auction, and the engine that plugs into a room sequencer.
package auction

import (
	"encoding/json"
	"time"
)

// Auction is the committed state of one auction.
type Auction struct {
	ID              string
	Title           string
	StartingPrice   Cents
	Increment       Cents
	CurrentBid      Cents // meaningful only when Bids > 0
	Leader          string
	Bids            int
	StartsAt        time.Time
	EndsAt          time.Time
	AntiSnipeWindow time.Duration
	AntiSnipeExtend time.Duration
	Closed          bool
	Winner          string
	FinalPrice      Cents
	CreatedAt       time.Time
}

// Bid is one accepted bid.
type Bid struct {
	AuctionID string
	Version   int64
	Amount    Cents
	Bidder    string
	At        time.Time
	MsgID     string
}

// Status values of an auction.
const (
	StatusScheduled = "scheduled"
	StatusLive      = "live"
	StatusEnded     = "ended"
)

// Status is the auction's status at now.
func (a *Auction) Status(now time.Time) string {
	switch {
	case a.Closed || !now.Before(a.EndsAt):
		return StatusEnded
	case now.Before(a.StartsAt):
		return StatusScheduled
	default:
		return StatusLive
	}
}

// MinNextBid is the smallest amount the next bid may have.
func (a *Auction) MinNextBid() Cents {
	if a.Bids == 0 {
		return a.StartingPrice
	}
	return a.CurrentBid + a.Increment
}

// State is the wire form of an auction (docs/protocol.md, "Auctions").
type State struct {
	ID               string    `json:"id"`
	Title            string    `json:"title"`
	Status           string    `json:"status"`
	StartingPrice    Cents     `json:"starting_price"`
	Increment        Cents     `json:"increment"`
	CurrentBid       *Cents    `json:"current_bid"`
	Leader           *string   `json:"leader"`
	Bids             int       `json:"bids"`
	MinNextBid       Cents     `json:"min_next_bid"`
	StartsAt         time.Time `json:"starts_at"`
	EndsAt           time.Time `json:"ends_at"`
	AntiSnipeWindowS int       `json:"anti_snipe_window_s"`
	AntiSnipeExtendS int       `json:"anti_snipe_extend_s"`
	Winner           *string   `json:"winner"`
	FinalPrice       *Cents    `json:"final_price"`
}

// StateAt is the wire state of a at now.
func (a *Auction) StateAt(now time.Time) State {
	s := State{
		ID:               a.ID,
		Title:            a.Title,
		Status:           a.Status(now),
		StartingPrice:    a.StartingPrice,
		Increment:        a.Increment,
		Bids:             a.Bids,
		MinNextBid:       a.MinNextBid(),
		StartsAt:         a.StartsAt.UTC(),
		EndsAt:           a.EndsAt.UTC(),
		AntiSnipeWindowS: int(a.AntiSnipeWindow / time.Second),
		AntiSnipeExtendS: int(a.AntiSnipeExtend / time.Second),
	}
	if a.Bids > 0 {
		cb, l := a.CurrentBid, a.Leader
		s.CurrentBid, s.Leader = &cb, &l
	}
	if a.Closed {
		fp := a.FinalPrice
		if a.Winner != "" {
			w := a.Winner
			s.Winner = &w
			s.FinalPrice = &fp
		}
	}
	return s
}

// FromState rebuilds an Auction from its wire state (events carry it, so a
// hub can follow another hub's commits without reading the auction row).
func FromState(s State) Auction {
	a := Auction{
		ID:              s.ID,
		Title:           s.Title,
		StartingPrice:   s.StartingPrice,
		Increment:       s.Increment,
		Bids:            s.Bids,
		StartsAt:        s.StartsAt,
		EndsAt:          s.EndsAt,
		AntiSnipeWindow: time.Duration(s.AntiSnipeWindowS) * time.Second,
		AntiSnipeExtend: time.Duration(s.AntiSnipeExtendS) * time.Second,
	}
	if s.CurrentBid != nil {
		a.CurrentBid = *s.CurrentBid
	}
	if s.Leader != nil {
		a.Leader = *s.Leader
	}
	if s.Winner != nil {
		a.Winner = *s.Winner
		a.Closed = true
	}
	if s.FinalPrice != nil {
		a.FinalPrice = *s.FinalPrice
	}
	// An auction that closed without a winner has no field saying so in its
	// state; the engine sets Closed from the event kind "closed".
	return a
}

// stateJSON encodes the state at now.
func (a *Auction) stateJSON(now time.Time) json.RawMessage {
	b, _ := json.Marshal(a.StateAt(now))
	return b
}
