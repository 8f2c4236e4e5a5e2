package main

import (
	"fmt"

	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/rooms/schema"
)

// roomKinds are the room kinds this hub serves, each made from the store.
// Adding a room kind is its package, its two store implementations, and
// one line here.
var roomKinds = []rooms.KindMaker{
	auction.FromStore,
	schema.FromStore,
}

// makeKinds makes every room kind on st.
func makeKinds(st any, d rooms.Deps) (*rooms.Kinds, error) {
	ks := make([]rooms.Kind, 0, len(roomKinds))
	for _, make := range roomKinds {
		k, err := make(st, d)
		if err != nil {
			return nil, fmt.Errorf("room kinds: %w", err)
		}
		ks = append(ks, k)
	}
	return rooms.NewKinds(ks...)
}
