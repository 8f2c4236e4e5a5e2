package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotrow/rooms"
	"hotrow/rooms/schema"
)

// Schemas returns the store as schema.Store: one row per document
// (schema_docs), table (schema_tables), column (schema_columns), relation
// (schema_relations) and audit entry (schema_audit).
func (s *Store) Schemas() schema.Store { return schemaStore{s, s} }

// schemaStore is the store as schema.Store; the idempotency records are
// the Store's own.
type schemaStore struct {
	rooms.AppliedStore
	s *Store
}

// schemaTx is a transaction of one document.
type schemaTx struct {
	baseTx
	doc schema.Doc
	err error // reading the document; rooms.ErrNotFound when there is none
}

// Attempt implements schema.Store: BEGIN, key's idempotency record, the
// document with its room version, and the database's clock in the first
// round trip; the writes and COMMIT in the second.
func (a schemaStore) Attempt(ctx context.Context, id string, key rooms.Key, fn func(schema.Tx) error) error {
	tx := &schemaTx{}
	r := &docRead{id: id, clock: true}
	reads := []*pgx.Batch{appliedRead(key, &tx.prior), r.batch()}
	return a.s.transact(ctx, reads, func(w *writes) error {
		tx.w, tx.now = w, r.now
		tx.doc, tx.err = r.assemble()
		return fn(tx)
	})
}

func (a schemaStore) Get(ctx context.Context, id string) (schema.Doc, error) {
	r := &docRead{id: id}
	err := a.s.read(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, r.batch()).Close() })
	if err != nil {
		return schema.Doc{}, err
	}
	return r.assemble()
}

// Load implements schema.Tx.
func (t *schemaTx) Load() (schema.Doc, error) { return t.doc.Clone(), t.err }

func (a schemaStore) Audit(ctx context.Context, id string) ([]schema.AuditEntry, error) {
	out := []schema.AuditEntry{}
	err := a.s.read(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM schema_docs WHERE id = $1`, id).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("schema %s: %w", id, rooms.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("reading schema %s: %w", id, err)
		}
		rows, err := tx.Query(ctx, `SELECT version, by_user, at, msg_id, kind, op, before, after
            FROM schema_audit WHERE doc_id = $1 ORDER BY version`, id)
		if err != nil {
			return fmt.Errorf("reading the audit log of %s: %w", id, err)
		}
		defer rows.Close()
		for rows.Next() {
			e := schema.AuditEntry{Doc: id}
			var op, before, after string
			if err := rows.Scan(&e.Version, &e.By, &e.At, &e.MsgID, &e.Kind, &op, &before, &after); err != nil {
				return err
			}
			e.At = e.At.UTC()
			e.Op, e.Before, e.After = []byte(op), []byte(before), []byte(after)
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

func (a schemaStore) List(ctx context.Context) ([]schema.Summary, error) {
	rows, err := a.s.pool.Query(ctx, `SELECT d.id, d.name, d.created_by, d.created_at, r.version,
            (SELECT count(*) FROM schema_tables t WHERE t.doc_id = d.id)
        FROM schema_docs d JOIN rooms r ON r.room = 'schema:' || d.id
        ORDER BY d.created_at DESC, d.id`)
	if err != nil {
		return nil, fmt.Errorf("listing schema documents: %w", err)
	}
	defer rows.Close()
	out := []schema.Summary{}
	for rows.Next() {
		var s schema.Summary
		if err := rows.Scan(&s.ID, &s.Name, &s.CreatedBy, &s.CreatedAt, &s.Version, &s.Tables); err != nil {
			return nil, fmt.Errorf("listing schema documents: %w", err)
		}
		s.CreatedAt = s.CreatedAt.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// docRead is a document at its room version: its row, tables, columns and
// relations, read in one batch (one snapshot when in a transaction), and
// the database's clock when asked.
type docRead struct {
	id    string
	clock bool
	now   time.Time
	found bool
	d     schema.Doc
	cols  []schema.Column
}

func (r *docRead) batch() *pgx.Batch {
	id := r.id
	r.d = schema.Doc{ID: id}
	b := &pgx.Batch{}
	if r.clock {
		// A statement of its own: a document being created has no row
		// to read it with.
		b.Queue(`SELECT clock_timestamp()`).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&r.now)
			r.now = r.now.UTC()
			return err
		})
	}
	b.Queue(`SELECT d.name, d.created_by, d.created_at, r.version
        FROM schema_docs d JOIN rooms r ON r.room = $2 WHERE d.id = $1`, id, schema.Room(id)).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&r.d.Name, &r.d.CreatedBy, &r.d.CreatedAt, &r.d.Version)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			r.found = err == nil
			return err
		})
	b.Queue(`SELECT id, pos, name, x, y, rev FROM schema_tables WHERE doc_id = $1`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var tb schema.Table
				if err := rows.Scan(&tb.ID, &tb.Pos, &tb.Name, &tb.X, &tb.Y, &tb.Rev); err != nil {
					return err
				}
				r.d.Tables = append(r.d.Tables, tb)
			}
			return rows.Err()
		})
	b.Queue(`SELECT id, table_id, pos, name, type, nullable, default_value, primary_key, is_unique, rev
        FROM schema_columns WHERE doc_id = $1`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var c schema.Column
				if err := rows.Scan(&c.ID, &c.Table, &c.Pos, &c.Name, &c.Type, &c.Nullable, &c.Default,
					&c.PrimaryKey, &c.Unique, &c.Rev); err != nil {
					return err
				}
				r.cols = append(r.cols, c)
			}
			return rows.Err()
		})
	b.Queue(`SELECT id, pos, from_table, from_column, to_table, to_column, on_delete, rev
        FROM schema_relations WHERE doc_id = $1`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var rel schema.Relation
				if err := rows.Scan(&rel.ID, &rel.Pos, &rel.FromTable, &rel.FromColumn, &rel.ToTable, &rel.ToColumn,
					&rel.OnDelete, &rel.Rev); err != nil {
					return err
				}
				r.d.Relations = append(r.d.Relations, rel)
			}
			return rows.Err()
		})
	return b
}

// assemble puts what batch read together: the document, normalized, or
// rooms.ErrNotFound.
func (r *docRead) assemble() (schema.Doc, error) {
	if !r.found {
		return schema.Doc{}, fmt.Errorf("schema %s: %w", r.id, rooms.ErrNotFound)
	}
	d := r.d
	d.CreatedAt = d.CreatedAt.UTC()
	byTable := make(map[string]int, len(d.Tables))
	for i, tb := range d.Tables {
		byTable[tb.ID] = i
	}
	for _, c := range r.cols {
		i, ok := byTable[c.Table]
		if !ok {
			return d, fmt.Errorf("schema %s: column %s belongs to no table", r.id, c.ID)
		}
		d.Tables[i].Columns = append(d.Tables[i].Columns, c)
	}
	d.Normalize()
	return d, nil
}

// Save implements schema.Tx: queued for the COMMIT's round trip.
func (t *schemaTx) Save(_ context.Context, w schema.Write) error {
	q := t.w
	queueAppend(q, w.Event)
	v := w.Event.Version
	if tb := w.InsertTable; tb != nil {
		q.queue(writeStmt{}, `INSERT INTO schema_tables (doc_id, id, pos, name, x, y, rev) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			w.DocID, tb.ID, v, tb.Name, tb.X, tb.Y, tb.Rev)
	}
	if tb := w.UpdateTable; tb != nil {
		q.queue(writeStmt{check: expectOne("updating table " + tb.ID)},
			`UPDATE schema_tables SET name = $3, x = $4, y = $5, rev = $6 WHERE doc_id = $1 AND id = $2`,
			w.DocID, tb.ID, tb.Name, tb.X, tb.Y, tb.Rev)
	}
	if c := w.InsertColumn; c != nil {
		q.queue(writeStmt{}, `INSERT INTO schema_columns (doc_id, id, table_id, pos, name, type, nullable, default_value, primary_key, is_unique, rev)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			w.DocID, c.ID, c.Table, v, c.Name, c.Type, c.Nullable, c.Default, c.PrimaryKey, c.Unique, c.Rev)
	}
	if c := w.UpdateColumn; c != nil {
		q.queue(writeStmt{check: expectOne("updating column " + c.ID)},
			`UPDATE schema_columns SET name = $3, type = $4, nullable = $5, default_value = $6, primary_key = $7,
            is_unique = $8, rev = $9 WHERE doc_id = $1 AND id = $2`,
			w.DocID, c.ID, c.Name, c.Type, c.Nullable, c.Default, c.PrimaryKey, c.Unique, c.Rev)
	}
	if r := w.InsertRelation; r != nil {
		q.queue(writeStmt{}, `INSERT INTO schema_relations (doc_id, id, pos, from_table, from_column, to_table, to_column, on_delete, rev)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			w.DocID, r.ID, v, r.FromTable, r.FromColumn, r.ToTable, r.ToColumn, r.OnDelete, r.Rev)
	}
	if len(w.Dropped.Relations) > 0 {
		q.queue(writeStmt{}, `DELETE FROM schema_relations WHERE doc_id = $1 AND id = ANY($2)`, w.DocID, w.Dropped.Relations)
	}
	if len(w.Dropped.Columns) > 0 {
		q.queue(writeStmt{}, `DELETE FROM schema_columns WHERE doc_id = $1 AND id = ANY($2)`, w.DocID, w.Dropped.Columns)
	}
	if len(w.Dropped.Tables) > 0 {
		q.queue(writeStmt{}, `DELETE FROM schema_tables WHERE doc_id = $1 AND id = ANY($2)`, w.DocID, w.Dropped.Tables)
	}
	a := w.Audit
	q.queue(writeStmt{}, `INSERT INTO schema_audit (doc_id, version, by_user, at, msg_id, kind, op, before, after)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		w.DocID, a.Version, a.By, a.At, a.MsgID, a.Kind, string(a.Op), string(a.Before), string(a.After))
	queueApplied(q, w.Event.Room, a.By, a.MsgID, w.Applied)
	return nil
}

// Create implements schema.Tx: queued for the COMMIT's round trip; a taken
// id fails it with rooms.ErrExists.
func (t *schemaTx) Create(_ context.Context, d schema.Doc, ev rooms.Event, a schema.AuditEntry) error {
	exists := writeStmt{refused: created("schema", d.ID)}
	t.w.queue(exists, `INSERT INTO rooms (room, kind, version, created_at) VALUES ($1, 'schema', 1, $2)`, ev.Room, d.CreatedAt)
	t.w.queue(exists, `INSERT INTO events (room, version, kind, by_user, at, data, state) VALUES ($1, 1, $2, $3, $4, $5, $6)`,
		ev.Room, ev.Kind, ev.By, ev.At, string(ev.Data), nullable(ev.State))
	t.w.queue(exists, `INSERT INTO schema_docs (id, name, created_by, created_at) VALUES ($1, $2, $3, $4)`,
		d.ID, d.Name, d.CreatedBy, d.CreatedAt)
	t.w.queue(exists, `INSERT INTO schema_audit (doc_id, version, by_user, at, msg_id, kind, op, before, after)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.ID, a.Version, a.By, a.At, a.MsgID, a.Kind, string(a.Op), string(a.Before), string(a.After))
	return nil
}
