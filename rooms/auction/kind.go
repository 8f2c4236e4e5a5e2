package auction

import "hotrow/rooms"

// Kind is the room kind's name: rooms are named "auction:<id>", and it is
// the kind label of the metrics.
const Kind = "auction"

// RoomKind is the auction room kind on st: rooms named auction:<id> that
// take bid messages, whose payload is the amount field.
func RoomKind(st Store, d rooms.Deps) rooms.Kind {
	d = d.WithDefaults()
	return rooms.Kind{
		Name: Kind,
		Ops:  []rooms.Op{{Type: "bid", Field: "amount"}},
		New:  func(id string) rooms.Engine { return &Engine{Committer: rooms.NewCommitter(Kind, id, d, st)} },
	}
}

// FromStore is the auction kind's rooms.KindMaker: the kind on a store that
// holds auctions.
func FromStore(store any, d rooms.Deps) (rooms.Kind, error) {
	p, err := rooms.Provided[Provider](store, Kind)
	if err != nil {
		return rooms.Kind{}, err
	}
	return RoomKind(p.Auctions(), d), nil
}

// Room returns the room name of the auction.
func Room(id string) string { return Kind + ":" + id }
