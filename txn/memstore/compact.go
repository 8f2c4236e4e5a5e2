package memstore

import (
	"context"
	"strings"

	"hotrow/rooms"
)

// RoomsAfter returns up to limit rooms named after after, in name order,
// with their versions.
func (s *Store) RoomsAfter(ctx context.Context, after string, limit int) ([]rooms.RoomVersion, error) {
	var out []rooms.RoomVersion
	err := s.Read(ctx, func(t RoomTx) error {
		for _, e := range t.kv.Scan("room/") {
			name := strings.TrimPrefix(e.Key, "room/")
			if name > after && len(out) < limit {
				out = append(out, rooms.RoomVersion{Room: name, Version: e.Val.(roomRow).Version})
			}
		}
		return ctx.Err()
	})
	return out, err
}

// EventStamps returns up to limit events of room with after < version <=
// upto, oldest first.
func (s *Store) EventStamps(ctx context.Context, room string, after, upto int64, limit int) ([]rooms.EventStamp, error) {
	var out []rooms.EventStamp
	err := s.Read(ctx, func(t RoomTx) error {
		last, _ := t.Version(room)
		for v := after + 1; v <= min(upto, last) && len(out) < limit; v++ {
			if x, ok := t.kv.Get(eventKey(room, v)); ok {
				ev := x.(rooms.Event)
				out = append(out, rooms.EventStamp{Version: v, At: ev.At, Bytes: len(ev.Data) + len(ev.State)})
			}
		}
		return ctx.Err()
	})
	return out, err
}

// DeleteEvents deletes room's events with after < version <= upto in one
// transaction.
func (s *Store) DeleteEvents(ctx context.Context, room string, after, upto int64) (int64, error) {
	var n int64
	err := s.Attempt(ctx, rooms.Key{}, func(t RoomTx) error {
		n = 0
		for v := after + 1; v <= upto; v++ {
			if _, ok := t.kv.Get(eventKey(room, v)); ok {
				t.kv.Delete(eventKey(room, v))
				n++
			}
		}
		return ctx.Err()
	})
	return n, err
}

var _ rooms.CompactStore = (*Store)(nil)
