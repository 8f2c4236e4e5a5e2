package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

type schemaTx struct{ baseTx }

func (a schemaStore) Attempt(ctx context.Context, fn func(schema.Tx) error) error {
	return a.s.attempt(ctx, func(tx pgx.Tx) error { return fn(&schemaTx{baseTx{tx: tx}}) })
}

func (a schemaStore) Get(ctx context.Context, id string) (schema.Doc, error) {
	var d schema.Doc
	err := a.s.read(ctx, func(tx pgx.Tx) (err error) {
		d, err = (&schemaTx{baseTx{tx: tx}}).Load(ctx, id)
		return err
	})
	return d, err
}

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

// Load reads the document, its room version and the database's clock, its
// tables, columns and relations in one round trip.
func (t *schemaTx) Load(ctx context.Context, id string) (schema.Doc, error) {
	d := schema.Doc{ID: id}
	b := &pgx.Batch{}
	found := false
	b.Queue(`SELECT d.name, d.created_by, d.created_at, r.version, clock_timestamp()
        FROM schema_docs d JOIN rooms r ON r.room = $2 WHERE d.id = $1`, id, schema.Room(id)).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&d.Name, &d.CreatedBy, &d.CreatedAt, &d.Version, &t.now)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			found = err == nil
			return err
		})
	b.Queue(`SELECT id, pos, name, x, y, rev FROM schema_tables WHERE doc_id = $1`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var tb schema.Table
				if err := rows.Scan(&tb.ID, &tb.Pos, &tb.Name, &tb.X, &tb.Y, &tb.Rev); err != nil {
					return err
				}
				d.Tables = append(d.Tables, tb)
			}
			return rows.Err()
		})
	var cols []schema.Column
	b.Queue(`SELECT id, table_id, pos, name, type, nullable, default_value, primary_key, is_unique, rev
        FROM schema_columns WHERE doc_id = $1`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var c schema.Column
				if err := rows.Scan(&c.ID, &c.Table, &c.Pos, &c.Name, &c.Type, &c.Nullable, &c.Default,
					&c.PrimaryKey, &c.Unique, &c.Rev); err != nil {
					return err
				}
				cols = append(cols, c)
			}
			return rows.Err()
		})
	b.Queue(`SELECT id, pos, from_table, from_column, to_table, to_column, on_delete, rev
        FROM schema_relations WHERE doc_id = $1`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var r schema.Relation
				if err := rows.Scan(&r.ID, &r.Pos, &r.FromTable, &r.FromColumn, &r.ToTable, &r.ToColumn,
					&r.OnDelete, &r.Rev); err != nil {
					return err
				}
				d.Relations = append(d.Relations, r)
			}
			return rows.Err()
		})
	if err := t.send(ctx, b); err != nil {
		return d, fmt.Errorf("reading schema %s: %w", id, err)
	}
	if !found {
		return schema.Doc{}, fmt.Errorf("schema %s: %w", id, rooms.ErrNotFound)
	}
	d.CreatedAt, t.now = d.CreatedAt.UTC(), t.now.UTC()
	byTable := make(map[string]int, len(d.Tables))
	for i, tb := range d.Tables {
		byTable[tb.ID] = i
	}
	for _, c := range cols {
		i, ok := byTable[c.Table]
		if !ok {
			return d, fmt.Errorf("schema %s: column %s belongs to no table", id, c.ID)
		}
		d.Tables[i].Columns = append(d.Tables[i].Columns, c)
	}
	d.Normalize()
	return d, nil
}

func expectOne(what string) func(pgconn.CommandTag) error {
	return func(ct pgconn.CommandTag) error {
		if ct.RowsAffected() != 1 {
			return fmt.Errorf("%s: %d rows changed, want 1", what, ct.RowsAffected())
		}
		return nil
	}
}

func (t *schemaTx) Save(ctx context.Context, w schema.Write) error {
	b := &pgx.Batch{}
	queueAppend(b, w.Event)
	v := w.Event.Version
	if tb := w.InsertTable; tb != nil {
		b.Queue(`INSERT INTO schema_tables (doc_id, id, pos, name, x, y, rev) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			w.DocID, tb.ID, v, tb.Name, tb.X, tb.Y, tb.Rev)
	}
	if tb := w.UpdateTable; tb != nil {
		b.Queue(`UPDATE schema_tables SET name = $3, x = $4, y = $5, rev = $6 WHERE doc_id = $1 AND id = $2`,
			w.DocID, tb.ID, tb.Name, tb.X, tb.Y, tb.Rev).Exec(expectOne("updating table " + tb.ID))
	}
	if c := w.InsertColumn; c != nil {
		b.Queue(`INSERT INTO schema_columns (doc_id, id, table_id, pos, name, type, nullable, default_value, primary_key, is_unique, rev)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			w.DocID, c.ID, c.Table, v, c.Name, c.Type, c.Nullable, c.Default, c.PrimaryKey, c.Unique, c.Rev)
	}
	if c := w.UpdateColumn; c != nil {
		b.Queue(`UPDATE schema_columns SET name = $3, type = $4, nullable = $5, default_value = $6, primary_key = $7,
            is_unique = $8, rev = $9 WHERE doc_id = $1 AND id = $2`,
			w.DocID, c.ID, c.Name, c.Type, c.Nullable, c.Default, c.PrimaryKey, c.Unique, c.Rev).
			Exec(expectOne("updating column " + c.ID))
	}
	if r := w.InsertRelation; r != nil {
		b.Queue(`INSERT INTO schema_relations (doc_id, id, pos, from_table, from_column, to_table, to_column, on_delete, rev)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			w.DocID, r.ID, v, r.FromTable, r.FromColumn, r.ToTable, r.ToColumn, r.OnDelete, r.Rev)
	}
	if len(w.Dropped.Relations) > 0 {
		b.Queue(`DELETE FROM schema_relations WHERE doc_id = $1 AND id = ANY($2)`, w.DocID, w.Dropped.Relations)
	}
	if len(w.Dropped.Columns) > 0 {
		b.Queue(`DELETE FROM schema_columns WHERE doc_id = $1 AND id = ANY($2)`, w.DocID, w.Dropped.Columns)
	}
	if len(w.Dropped.Tables) > 0 {
		b.Queue(`DELETE FROM schema_tables WHERE doc_id = $1 AND id = ANY($2)`, w.DocID, w.Dropped.Tables)
	}
	a := w.Audit
	b.Queue(`INSERT INTO schema_audit (doc_id, version, by_user, at, msg_id, kind, op, before, after)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		w.DocID, a.Version, a.By, a.At, a.MsgID, a.Kind, string(a.Op), string(a.Before), string(a.After))
	queueApplied(b, w.Event.Room, a.By, a.MsgID, w.Applied)
	return t.send(ctx, b)
}

func (t *schemaTx) Create(ctx context.Context, d schema.Doc, ev rooms.Event, a schema.AuditEntry) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO rooms (room, kind, version, created_at) VALUES ($1, 'schema', 1, $2)`, ev.Room, d.CreatedAt)
	b.Queue(`INSERT INTO events (room, version, kind, by_user, at, data, state) VALUES ($1, 1, $2, $3, $4, $5, $6)`,
		ev.Room, ev.Kind, ev.By, ev.At, string(ev.Data), nullable(ev.State))
	b.Queue(`INSERT INTO schema_docs (id, name, created_by, created_at) VALUES ($1, $2, $3, $4)`,
		d.ID, d.Name, d.CreatedBy, d.CreatedAt)
	b.Queue(`INSERT INTO schema_audit (doc_id, version, by_user, at, msg_id, kind, op, before, after)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.ID, a.Version, a.By, a.At, a.MsgID, a.Kind, string(a.Op), string(a.Before), string(a.After))
	err := t.send(ctx, b)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("schema %s: %w", d.ID, rooms.ErrExists)
	}
	return err
}
