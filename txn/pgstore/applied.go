package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"hotrow/rooms"
)

// FindApplied reads one idempotency record outside a transaction: a point
// read on the primary key.
func (s *Store) FindApplied(ctx context.Context, room, user, id string) (rooms.Applied, bool, error) {
	var a rooms.Applied
	err := s.pool.QueryRow(ctx, `SELECT version, attempts FROM applied WHERE room = $1 AND user_id = $2 AND msg_id = $3`,
		room, user, id).Scan(&a.Version, &a.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("reading idempotency record: %w", err)
	}
	return a, true, nil
}

// AppliedAfter returns up to limit records of room with after < version
// <= upto, oldest first, through the applied_room_version index.
func (s *Store) AppliedAfter(ctx context.Context, room string, after, upto int64, limit int) ([]rooms.AppliedRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id, msg_id, version, attempts FROM applied
        WHERE room = $1 AND version > $2 AND version <= $3 ORDER BY version LIMIT $4`, room, after, upto, limit)
	if err != nil {
		return nil, fmt.Errorf("reading idempotency records: %w", err)
	}
	defer rows.Close()
	out := make([]rooms.AppliedRecord, 0, min(limit, 256))
	for rows.Next() {
		var r rooms.AppliedRecord
		if err := rows.Scan(&r.User, &r.ID, &r.Version, &r.Attempts); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Summaries returns the room's stored summary segments, by seg.
func (s *Store) Summaries(ctx context.Context, room string) ([]rooms.SummaryRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT seg, from_version, end_version, covered, filter FROM applied_summary
        WHERE room = $1 ORDER BY seg`, room)
	if err != nil {
		return nil, fmt.Errorf("reading idempotency summary: %w", err)
	}
	defer rows.Close()
	var out []rooms.SummaryRow
	for rows.Next() {
		var r rooms.SummaryRow
		if err := rows.Scan(&r.Seg, &r.From, &r.End, &r.Covered, &r.Filter); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveSummary stores a segment in one transaction of two statements: the
// UPDATE replaces a stored segment laid out the same that covers less, and
// the INSERT adds one where there is none. No ON CONFLICT DO UPDATE, which
// no recording of Aurora DSQL shows accepted; a segment is at most 1 MiB
// (DSQL's column limit; see rooms.IDConfig).
func (s *Store) SaveSummary(ctx context.Context, room string, r rooms.SummaryRow) error {
	return s.attempt(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`UPDATE applied_summary SET covered = $5, filter = $6
            WHERE room = $1 AND seg = $2 AND from_version = $3 AND end_version = $4 AND covered < $5`,
			room, r.Seg, r.From, r.End, r.Covered, r.Filter)
		b.Queue(`INSERT INTO applied_summary (room, seg, from_version, end_version, covered, filter)
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room, seg) DO NOTHING`,
			room, r.Seg, r.From, r.End, r.Covered, r.Filter)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("storing idempotency summary segment %d of %s: %w", r.Seg, room, err)
		}
		return nil
	})
}

var _ rooms.AppliedStore = (*Store)(nil)
