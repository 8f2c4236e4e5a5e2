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
