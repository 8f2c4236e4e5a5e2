package memstore

import (
	"context"
	"fmt"
	"time"

	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/rooms/schema"
)

// Store is the embedded store: the room event log and every room kind's
// tables, as keys in one KV.
type Store struct {
	kv *KV
}

// New makes an empty embedded store whose clock stands in for the
// database's.
func New(c clock.Clock) *Store { return &Store{kv: NewKV(c)} }

// KV exposes the underlying key-value store (tests inject failures there).
func (s *Store) KV() *KV { return s.kv }

// Ping always succeeds: the embedded store is in this process.
func (s *Store) Ping(context.Context) error { return nil }

// Close does nothing.
func (s *Store) Close() {}

// Name says which store this is, for logs.
func (s *Store) Name() string { return "embedded" }

type roomRow struct {
	Kind    string
	Version int64
}

func roomKey(room string) string { return "room/" + room }
func eventKey(room string, v int64) string {
	return fmt.Sprintf("event/%s/%020d", room, v)
}
func appliedPrefix(room string) string { return "applied/" + room + "/" }
func appliedVersionKey(room string, v int64) string {
	return fmt.Sprintf("appliedv/%s/%020d", room, v)
}

// RoomTx is one transaction of the embedded store as every room kind uses
// it: the database's clock, the idempotency records, the room version and
// event log, and the KV for the kind's own rows (KV). A new room kind's
// embedded store is its rows on top of it.
type RoomTx struct {
	kv    *KVTx
	db    *KV
	prior *rooms.Applied // the attempt's key's record, read as it began
}

// KV is the transaction's key-value view, for a kind's own rows. Keys of a
// kind start with its name and a slash ("poll/...").
func (t RoomTx) KV() *KVTx { return t.kv }

// Now is the database's clock (the store's clock), at PostgreSQL's
// microsecond precision.
func (t RoomTx) Now(ctx context.Context) (time.Time, error) {
	return t.db.Clock.Now().UTC().Truncate(time.Microsecond), ctx.Err()
}

// Applied implements rooms.Tx: the idempotency record of the key the
// attempt was opened with, if the message committed before.
func (t RoomTx) Applied() (rooms.Applied, bool) {
	if t.prior == nil {
		return rooms.Applied{}, false
	}
	return *t.prior, true
}

// Version returns the room's version, and whether the room exists.
func (t RoomTx) Version(room string) (int64, bool) {
	r, ok := t.kv.Get(roomKey(room))
	if !ok {
		return 0, false
	}
	return r.(roomRow).Version, true
}

// Append bumps the room to ev.Version and stores ev. The version row is the
// conflict point: two transactions appending to one room conflict.
func (t RoomTx) Append(room, kind string, ev rooms.Event) error {
	cur, ok := t.kv.Get(roomKey(room))
	prev := int64(0)
	if ok {
		prev = cur.(roomRow).Version
	}
	if ev.Version != prev+1 {
		return fmt.Errorf("memstore: event %d of %s does not follow version %d", ev.Version, room, prev)
	}
	t.kv.Put(roomKey(room), roomRow{Kind: kind, Version: ev.Version})
	t.kv.Put(eventKey(room, ev.Version), ev)
	return nil
}

// RecordApplied stores the idempotency record of the message (room, user,
// id), under its key and under its version (the index AppliedAfter reads).
func (t RoomTx) RecordApplied(room, user, id string, a rooms.Applied) {
	t.kv.Put(appliedPrefix(room)+rooms.AppliedKey(user, id), a)
	t.kv.Put(appliedVersionKey(room, a.Version), rooms.AppliedRecord{User: user, ID: id, Applied: a})
}

// Attempt runs fn in one KV transaction of the message key (rooms.Key{}
// for none): committed when fn returns nil, rolled back otherwise. The
// transaction's Applied is key's idempotency record on its snapshot.
func (s *Store) Attempt(ctx context.Context, key rooms.Key, fn func(RoomTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx := s.kv.Begin()
	t := RoomTx{kv: tx, db: s.kv}
	if key.ID != "" {
		if v, ok := tx.Get(appliedPrefix(key.Room) + rooms.AppliedKey(key.User, key.ID)); ok {
			a := v.(rooms.Applied)
			t.prior = &a
		}
	}
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	if err := ctx.Err(); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Read runs fn on a read-only snapshot.
func (s *Store) Read(ctx context.Context, fn func(RoomTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx := s.kv.Begin()
	defer tx.Rollback()
	return fn(RoomTx{kv: tx, db: s.kv})
}

// EventsAfter implements rooms.Log.
func (s *Store) EventsAfter(ctx context.Context, room string, after, upto int64) ([]rooms.Event, error) {
	var out []rooms.Event
	err := s.Read(ctx, func(t RoomTx) error {
		last, _ := t.Version(room)
		for v := after + 1; v <= min(upto, last); v++ {
			// Compaction deletes a room's oldest events: skip them.
			if ev, ok := t.kv.Get(eventKey(room, v)); ok {
				out = append(out, ev.(rooms.Event))
			}
		}
		return ctx.Err()
	})
	return out, err
}

// Versions implements rooms.Log.
func (s *Store) Versions(ctx context.Context, names []string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	err := s.Read(ctx, func(t RoomTx) error {
		for _, n := range names {
			if r, ok := t.kv.Get(roomKey(n)); ok {
				out[n] = r.(roomRow).Version
			}
		}
		return nil
	})
	return out, err
}

// The room kinds the embedded store holds.
var (
	_ auction.Provider = (*Store)(nil)
	_ schema.Provider  = (*Store)(nil)
)
