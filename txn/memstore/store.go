package memstore

import (
	"context"
	"fmt"
	"time"

	"hotrow/internal/clock"
	"hotrow/rooms"
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

// baseTx has what every room kind's transaction shares: the clock, the log
// and the idempotency records.
type baseTx struct {
	kv *KVTx
	db *KV
}

func (t baseTx) Now(ctx context.Context) (time.Time, error) {
	return t.db.Clock.Now().UTC().Truncate(time.Microsecond), ctx.Err()
}

func (t baseTx) FindApplied(ctx context.Context, room, user, id string) (rooms.Applied, bool, error) {
	v, ok := t.kv.Get(appliedPrefix(room) + rooms.AppliedKey(user, id))
	if !ok {
		return rooms.Applied{}, false, ctx.Err()
	}
	return v.(rooms.Applied), true, ctx.Err()
}

// append bumps the room to ev.Version and stores ev. The version row is the
// conflict point: two transactions appending to one room conflict.
func (t baseTx) append(room, kind string, ev rooms.Event) error {
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

func (t baseTx) recordApplied(room, user, id string, a rooms.Applied) {
	t.kv.Put(appliedPrefix(room)+rooms.AppliedKey(user, id), a)
}

// attempt runs fn in one KV transaction.
func (s *Store) attempt(ctx context.Context, fn func(baseTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx := s.kv.Begin()
	if err := fn(baseTx{kv: tx, db: s.kv}); err != nil {
		tx.Rollback()
		return err
	}
	if err := ctx.Err(); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// read runs fn on a read-only snapshot.
func (s *Store) read(ctx context.Context, fn func(baseTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx := s.kv.Begin()
	defer tx.Rollback()
	return fn(baseTx{kv: tx, db: s.kv})
}

// EventsAfter implements rooms.Log.
func (s *Store) EventsAfter(ctx context.Context, room string, after, upto int64) ([]rooms.Event, error) {
	var out []rooms.Event
	err := s.read(ctx, func(t baseTx) error {
		for v := after + 1; v <= upto; v++ {
			ev, ok := t.kv.Get(eventKey(room, v))
			if !ok {
				break
			}
			out = append(out, ev.(rooms.Event))
		}
		return nil
	})
	return out, err
}

// Versions implements rooms.Log.
func (s *Store) Versions(ctx context.Context, names []string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	err := s.read(ctx, func(t baseTx) error {
		for _, n := range names {
			if r, ok := t.kv.Get(roomKey(n)); ok {
				out[n] = r.(roomRow).Version
			}
		}
		return nil
	})
	return out, err
}

// AppliedIDs returns every idempotency record of room.
func (s *Store) AppliedIDs(ctx context.Context, room string) (map[string]rooms.Applied, error) {
	out := map[string]rooms.Applied{}
	err := s.read(ctx, func(t baseTx) error {
		p := appliedPrefix(room)
		for _, e := range t.kv.Scan(p) {
			out[e.Key[len(p):]] = e.Val.(rooms.Applied)
		}
		return nil
	})
	return out, err
}
