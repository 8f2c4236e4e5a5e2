package memstore

import (
	"context"
	"fmt"

	"hotrow/rooms"
)

func summaryKey(room string, seg int) string { return fmt.Sprintf("summary/%s/%06d", room, seg) }

// FindApplied reads one idempotency record outside a transaction.
func (s *Store) FindApplied(ctx context.Context, room, user, id string) (a rooms.Applied, found bool, err error) {
	err = s.Read(ctx, func(t RoomTx) error {
		v, ok := t.kv.Get(appliedPrefix(room) + rooms.AppliedKey(user, id))
		if ok {
			a, found = v.(rooms.Applied), true
		}
		return ctx.Err()
	})
	return a, found, err
}

// AppliedAfter returns up to limit records of room with after < version
// <= upto, oldest first, from the version index RecordApplied keeps.
func (s *Store) AppliedAfter(ctx context.Context, room string, after, upto int64, limit int) ([]rooms.AppliedRecord, error) {
	var out []rooms.AppliedRecord
	err := s.Read(ctx, func(t RoomTx) error {
		last, _ := t.Version(room)
		for v := after + 1; v <= min(upto, last) && len(out) < limit; v++ {
			if r, ok := t.kv.Get(appliedVersionKey(room, v)); ok {
				out = append(out, r.(rooms.AppliedRecord))
			}
		}
		return ctx.Err()
	})
	return out, err
}

// Summaries returns the room's stored summary segments, by Seg.
func (s *Store) Summaries(ctx context.Context, room string) ([]rooms.SummaryRow, error) {
	var out []rooms.SummaryRow
	err := s.Read(ctx, func(t RoomTx) error {
		for seg := 0; ; seg++ {
			r, ok := t.kv.Get(summaryKey(room, seg))
			if !ok {
				return ctx.Err()
			}
			row := r.(rooms.SummaryRow)
			row.Filter = append([]byte(nil), row.Filter...) // the caller's to keep
			out = append(out, row)
		}
	})
	return out, err
}

// SaveSummary stores a segment unless the stored one with its number
// covers as much, or lays out other versions.
func (s *Store) SaveSummary(ctx context.Context, room string, r rooms.SummaryRow) error {
	return s.Attempt(ctx, rooms.Key{}, func(t RoomTx) error {
		if v, ok := t.kv.Get(summaryKey(room, r.Seg)); ok {
			old := v.(rooms.SummaryRow)
			if old.From != r.From || old.End != r.End || old.Covered >= r.Covered {
				return nil
			}
		}
		r.Filter = append([]byte(nil), r.Filter...)
		t.kv.Put(summaryKey(room, r.Seg), r)
		return nil
	})
}

var _ rooms.AppliedStore = (*Store)(nil)
