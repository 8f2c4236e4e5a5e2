package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hotrow/rooms"
	"hotrow/txn"
)

// baseTx has what every room kind's transaction shares.
type baseTx struct {
	tx  pgx.Tx
	now time.Time // the database's clock, read with the room's row
}

func (t *baseTx) Now(ctx context.Context) (time.Time, error) {
	if !t.now.IsZero() {
		return t.now, nil
	}
	err := t.tx.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t.now)
	t.now = t.now.UTC()
	return t.now, err
}

func (t *baseTx) FindApplied(ctx context.Context, room, user, id string) (rooms.Applied, bool, error) {
	var a rooms.Applied
	err := t.tx.QueryRow(ctx, `SELECT version, attempts FROM applied WHERE room = $1 AND user_id = $2 AND msg_id = $3`,
		room, user, id).Scan(&a.Version, &a.Attempts)
	if err == pgx.ErrNoRows {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("reading idempotency record: %w", err)
	}
	return a, true, nil
}

// queueAppend adds to b the statements that bump the room to ev.Version and
// store ev. The UPDATE of the room row is the conflict point between hubs.
func queueAppend(b *pgx.Batch, ev rooms.Event) {
	b.Queue(`UPDATE rooms SET version = $2 WHERE room = $1 AND version = $3`, ev.Room, ev.Version, ev.Version-1).
		Exec(func(ct pgconn.CommandTag) error {
			if ct.RowsAffected() != 1 {
				return &txn.ConflictError{Detail: fmt.Sprintf("room %s moved past version %d", ev.Room, ev.Version-1)}
			}
			return nil
		})
	b.Queue(`INSERT INTO events (room, version, kind, by_user, at, data, state) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ev.Room, ev.Version, ev.Kind, ev.By, ev.At, string(ev.Data), nullable(ev.State))
}

func queueApplied(b *pgx.Batch, room, user, id string, a rooms.Applied) {
	b.Queue(`INSERT INTO applied (room, user_id, msg_id, version, attempts) VALUES ($1, $2, $3, $4, $5)`,
		room, user, id, a.Version, a.Attempts)
}

func nullable(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

func (t *baseTx) send(ctx context.Context, b *pgx.Batch) error {
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return nil
}

// EventsAfter implements rooms.Log.
func (s *Store) EventsAfter(ctx context.Context, room string, after, upto int64) ([]rooms.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT version, kind, by_user, at, data, state FROM events
        WHERE room = $1 AND version > $2 AND version <= $3 ORDER BY version`, room, after, upto)
	if err != nil {
		return nil, fmt.Errorf("reading events of %s: %w", room, err)
	}
	defer rows.Close()
	var out []rooms.Event
	for rows.Next() {
		ev := rooms.Event{Room: room}
		var data string
		var state *string
		if err := rows.Scan(&ev.Version, &ev.Kind, &ev.By, &ev.At, &data, &state); err != nil {
			return nil, err
		}
		ev.At = ev.At.UTC()
		ev.Data = []byte(data)
		if state != nil {
			ev.State = []byte(*state)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Versions implements rooms.Log.
func (s *Store) Versions(ctx context.Context, names []string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT room, version FROM rooms WHERE room = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("reading room versions: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64, len(names))
	for rows.Next() {
		var n string
		var v int64
		if err := rows.Scan(&n, &v); err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, rows.Err()
}
