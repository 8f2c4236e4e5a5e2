package schema

import "hotrow/rooms"

// Kind is the room kind's name: rooms are named "schema:<id>", and it is
// the kind label of the metrics.
const Kind = "schema"

// RoomKind is the schema document room kind on st: rooms named
// schema:<id> that take edit messages, whose payload is the op field.
func RoomKind(st Store, d rooms.Deps) rooms.Kind {
	d = d.WithDefaults()
	return rooms.Kind{
		Name: Kind,
		Ops:  []rooms.Op{{Type: "edit", Field: "op"}},
		New:  func(id string) rooms.Engine { return &Engine{Committer: rooms.NewCommitter(Kind, id, d, st)} },
	}
}

// FromStore is the schema kind's rooms.KindMaker: the kind on a store that
// holds schema documents.
func FromStore(store any, d rooms.Deps) (rooms.Kind, error) {
	p, err := rooms.Provided[Provider](store, Kind)
	if err != nil {
		return rooms.Kind{}, err
	}
	return RoomKind(p.Schemas(), d), nil
}

// Room returns the room name of the document.
func Room(id string) string { return Kind + ":" + id }
