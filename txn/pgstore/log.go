package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"hotrow/rooms"
	"hotrow/txn"
)

// baseTx has what every room kind's transaction shares: what it read as it
// began, and the writes it queues for its COMMIT (see transact).
type baseTx struct {
	w     *writes
	prior *rooms.Applied // the attempt's key's idempotency record
	now   time.Time      // the database's clock, read with the room
}

// Applied implements rooms.Tx.
func (t *baseTx) Applied() (rooms.Applied, bool) {
	if t.prior == nil {
		return rooms.Applied{}, false
	}
	return *t.prior, true
}

// Now is the database's clock as the transaction read it.
func (t *baseTx) Now() time.Time { return t.now }

// queueAppend queues the statements that bump the room to ev.Version and
// store ev. The UPDATE of the room row is the conflict point between hubs.
// It moves the version only from ev.Version-1, the version the transaction
// read: from any other it would store NULL, which the column's NOT NULL
// refuses (23502), so that the server refuses the whole transaction before
// its COMMIT, which follows in the same round trip.
func queueAppend(w *writes, ev rooms.Event) {
	w.queue(writeStmt{
		check: expectOne("moving room " + ev.Room + " to its next version"),
		refused: func(e *pgconn.PgError) error {
			if e.Code == "23502" {
				return &txn.ConflictError{Detail: fmt.Sprintf("room %s moved past version %d", ev.Room, ev.Version-1)}
			}
			return nil
		},
	}, `UPDATE rooms SET version = CASE WHEN version = $3::bigint THEN $2::bigint END WHERE room = $1`,
		ev.Room, ev.Version, ev.Version-1)
	w.queue(writeStmt{}, `INSERT INTO events (room, version, kind, by_user, at, data, state) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ev.Room, ev.Version, ev.Kind, ev.By, ev.At, string(ev.Data), nullable(ev.State))
}

func queueApplied(w *writes, room, user, id string, a rooms.Applied) {
	w.queue(writeStmt{}, `INSERT INTO applied (room, user_id, msg_id, version, attempts) VALUES ($1, $2, $3, $4, $5)`,
		room, user, id, a.Version, a.Attempts)
}

// expectOne checks that a statement changed one row.
func expectOne(what string) func(pgconn.CommandTag) error {
	return func(ct pgconn.CommandTag) error {
		if ct.RowsAffected() != 1 {
			return fmt.Errorf("%s: %d rows changed, want 1", what, ct.RowsAffected())
		}
		return nil
	}
}

// created is the refusal of a new room's first row: its id is taken.
func created(kind, id string) func(*pgconn.PgError) error {
	return func(e *pgconn.PgError) error {
		if e.Code == "23505" {
			return fmt.Errorf("%s %s: %w", kind, id, rooms.ErrExists)
		}
		return nil
	}
}

func nullable(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
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
