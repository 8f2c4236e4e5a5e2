package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"hotrow/rooms"
)

// RoomsAfter returns up to limit rooms named after after, in name order,
// with their versions (the rooms primary key).
func (s *Store) RoomsAfter(ctx context.Context, after string, limit int) ([]rooms.RoomVersion, error) {
	rows, err := s.pool.Query(ctx, `SELECT room, version FROM rooms WHERE room > $1 ORDER BY room LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing rooms: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (rooms.RoomVersion, error) {
		var rv rooms.RoomVersion
		err := r.Scan(&rv.Room, &rv.Version)
		return rv, err
	})
}

// EventStamps returns up to limit events of room with after < version <=
// upto, oldest first: a range of the events primary key.
func (s *Store) EventStamps(ctx context.Context, room string, after, upto int64, limit int) ([]rooms.EventStamp, error) {
	rows, err := s.pool.Query(ctx, `SELECT version, at, octet_length(data) + coalesce(octet_length(state), 0) FROM events
        WHERE room = $1 AND version > $2 AND version <= $3 ORDER BY version LIMIT $4`, room, after, upto, limit)
	if err != nil {
		return nil, fmt.Errorf("reading events of %s: %w", room, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (rooms.EventStamp, error) {
		var e rooms.EventStamp
		err := r.Scan(&e.Version, &e.At, &e.Bytes)
		e.At = e.At.UTC()
		return e, err
	})
}

// DeleteEvents deletes room's events with after < version <= upto: one
// DML statement, its own transaction, on a range of the primary key.
func (s *Store) DeleteEvents(ctx context.Context, room string, after, upto int64) (int64, error) {
	var n int64
	err := s.attempt(ctx, func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, `DELETE FROM events WHERE room = $1 AND version > $2 AND version <= $3`, room, after, upto)
		n = ct.RowsAffected()
		return err
	})
	return n, err
}

var _ rooms.CompactStore = (*Store)(nil)
