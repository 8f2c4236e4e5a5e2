package auction

import (
	"encoding/json"
	"time"

	"hotrow/rooms"
)

// Event kinds of an auction room.
const (
	KindCreated = "created"
	KindBid     = "bid"
	KindClosed  = "closed"
)

// BidData is the data of a bid event.
type BidData struct {
	Amount Cents     `json:"amount"`
	Bidder string    `json:"bidder"`
	EndsAt time.Time `json:"ends_at"`
	// ID is the bid message's id, so every hub knows which ids are applied.
	ID string `json:"id"`
}

// ClosedData is the data of a closed event.
type ClosedData struct {
	Winner     *string `json:"winner"`
	FinalPrice *Cents  `json:"final_price"`
}

// CreatedData is the data of a created event.
type CreatedData struct {
	Title string `json:"title"`
}

func newEvent(a *Auction, version int64, kind, by string, at time.Time, data any) rooms.Event {
	d, _ := json.Marshal(data)
	return rooms.Event{Room: Room(a.ID), Version: version, Kind: kind, By: by,
		At: at.UTC(), Data: d, State: a.stateJSON(at)}
}

// BidWrite is what committing a bid stores when auction a is at version v
// and the database's clock reads now: the auction after the bid, the bid's
// row and its event (version v+1); or why the rules refuse the bid. The
// engine's transaction uses it, and so does anything that must write
// exactly what a hub would (the soak benchmark's bulk loader).
func BidWrite(a Auction, v int64, amount Cents, bidder, msgID string, now time.Time) (Auction, Bid, rooms.Event, *rooms.Rejection) {
	na, rej := a.PlaceBid(amount, bidder, now)
	if rej != nil {
		return a, Bid{}, rooms.Event{}, rej
	}
	ev := newEvent(&na, v+1, KindBid, bidder, now, BidData{Amount: amount, Bidder: bidder, EndsAt: na.EndsAt.UTC(), ID: msgID})
	return na, Bid{AuctionID: a.ID, Version: v + 1, Amount: amount, Bidder: bidder, At: now, MsgID: msgID}, ev, nil
}
