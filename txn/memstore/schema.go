package memstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"hotrow/rooms"
	"hotrow/rooms/schema"
)

// Keys of the schema documents: one per document, table, column, relation
// and audit entry, so edits to different tables write different keys.
func schemaDocKey(id string) string          { return "schema/doc/" + id }
func schemaTablePrefix(doc string) string    { return "schema/table/" + doc + "/" }
func schemaColumnPrefix(doc string) string   { return "schema/column/" + doc + "/" }
func schemaRelationPrefix(doc string) string { return "schema/relation/" + doc + "/" }
func schemaAuditPrefix(doc string) string    { return "schema/audit/" + doc + "/" }
func schemaAuditKey(doc string, v int64) string {
	return fmt.Sprintf("%s%020d", schemaAuditPrefix(doc), v)
}

type schemaDocRow struct {
	ID, Name, CreatedBy string
	CreatedAt           time.Time
}

// Schemas returns the store as schema.Store.
func (s *Store) Schemas() schema.Store { return schemaStore{s, s} }

// schemaStore is the store as schema.Store; the idempotency records are
// the Store's own.
type schemaStore struct {
	rooms.AppliedStore
	s *Store
}

// schemaTx is a transaction of one document, read as it began.
type schemaTx struct {
	RoomTx
	doc schema.Doc
	err error // reading the document
	now time.Time
}

func (a schemaStore) Attempt(ctx context.Context, id string, key rooms.Key, fn func(schema.Tx) error) error {
	return a.s.Attempt(ctx, key, func(t RoomTx) error {
		tx := schemaTx{RoomTx: t}
		tx.doc, tx.err = loadDoc(t, id)
		tx.now, _ = t.Now(ctx)
		return fn(tx)
	})
}

func (t schemaTx) Load() (schema.Doc, error) { return t.doc.Clone(), t.err }

func (t schemaTx) Now() time.Time { return t.now }

func (a schemaStore) Get(ctx context.Context, id string) (schema.Doc, error) {
	var d schema.Doc
	err := a.s.Read(ctx, func(t RoomTx) (err error) {
		d, err = loadDoc(t, id)
		return err
	})
	return d, err
}

func (a schemaStore) Audit(ctx context.Context, id string) ([]schema.AuditEntry, error) {
	out := []schema.AuditEntry{}
	err := a.s.Read(ctx, func(t RoomTx) error {
		if _, ok := t.kv.Get(schemaDocKey(id)); !ok {
			return fmt.Errorf("schema %s: %w", id, rooms.ErrNotFound)
		}
		for _, e := range t.kv.Scan(schemaAuditPrefix(id)) {
			out = append(out, e.Val.(schema.AuditEntry))
		}
		return nil
	})
	return out, err
}

func (a schemaStore) List(ctx context.Context) ([]schema.Summary, error) {
	out := []schema.Summary{}
	err := a.s.Read(ctx, func(t RoomTx) error {
		for _, e := range t.kv.Scan(schemaDocKey("")) {
			row := e.Val.(schemaDocRow)
			r, _ := t.kv.Get(roomKey(schema.Room(row.ID)))
			out = append(out, schema.Summary{ID: row.ID, Name: row.Name, Version: r.(roomRow).Version,
				Tables: len(t.kv.Scan(schemaTablePrefix(row.ID))), CreatedAt: row.CreatedAt.UTC(), CreatedBy: row.CreatedBy})
		}
		return ctx.Err()
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, err
}

func loadDoc(t RoomTx, id string) (schema.Doc, error) {
	v, ok := t.kv.Get(schemaDocKey(id))
	if !ok {
		return schema.Doc{}, fmt.Errorf("schema %s: %w", id, rooms.ErrNotFound)
	}
	row := v.(schemaDocRow)
	version, _ := t.Version(schema.Room(id))
	d := schema.Doc{ID: row.ID, Name: row.Name, CreatedBy: row.CreatedBy, Version: version}
	d.CreatedAt = row.CreatedAt.UTC()
	byTable := map[string]int{}
	for _, e := range t.kv.Scan(schemaTablePrefix(id)) {
		tb := e.Val.(schema.Table)
		tb.Columns = nil
		byTable[tb.ID] = len(d.Tables)
		d.Tables = append(d.Tables, tb)
	}
	for _, e := range t.kv.Scan(schemaColumnPrefix(id)) {
		c := e.Val.(schema.Column)
		i, ok := byTable[c.Table]
		if !ok {
			return d, fmt.Errorf("schema %s: column %s belongs to no table", id, c.ID)
		}
		d.Tables[i].Columns = append(d.Tables[i].Columns, c)
	}
	for _, e := range t.kv.Scan(schemaRelationPrefix(id)) {
		d.Relations = append(d.Relations, e.Val.(schema.Relation))
	}
	d.Normalize()
	return d, nil
}

func (t schemaTx) Save(ctx context.Context, w schema.Write) error {
	if err := t.Append(w.Event.Room, schema.Kind, w.Event); err != nil {
		return err
	}
	v := w.Event.Version
	if tb := w.InsertTable; tb != nil {
		x := *tb
		x.Pos, x.Columns = v, nil
		t.kv.Put(schemaTablePrefix(w.DocID)+x.ID, x)
	}
	if tb := w.UpdateTable; tb != nil {
		old, ok := t.kv.Get(schemaTablePrefix(w.DocID) + tb.ID)
		if !ok {
			return fmt.Errorf("schema %s: no table %s to update", w.DocID, tb.ID)
		}
		x := *tb
		x.Pos, x.Columns = old.(schema.Table).Pos, nil
		t.kv.Put(schemaTablePrefix(w.DocID)+x.ID, x)
	}
	if c := w.InsertColumn; c != nil {
		x := *c
		x.Pos = v
		t.kv.Put(schemaColumnPrefix(w.DocID)+x.ID, x)
	}
	if c := w.UpdateColumn; c != nil {
		old, ok := t.kv.Get(schemaColumnPrefix(w.DocID) + c.ID)
		if !ok {
			return fmt.Errorf("schema %s: no column %s to update", w.DocID, c.ID)
		}
		x := *c
		x.Pos = old.(schema.Column).Pos
		t.kv.Put(schemaColumnPrefix(w.DocID)+x.ID, x)
	}
	if r := w.InsertRelation; r != nil {
		x := *r
		x.Pos = v
		t.kv.Put(schemaRelationPrefix(w.DocID)+x.ID, x)
	}
	for _, id := range w.Dropped.Tables {
		t.kv.Delete(schemaTablePrefix(w.DocID) + id)
	}
	for _, id := range w.Dropped.Columns {
		t.kv.Delete(schemaColumnPrefix(w.DocID) + id)
	}
	for _, id := range w.Dropped.Relations {
		t.kv.Delete(schemaRelationPrefix(w.DocID) + id)
	}
	a := w.Audit
	a.Doc = w.DocID
	t.kv.Put(schemaAuditKey(w.DocID, a.Version), a)
	t.RecordApplied(w.Event.Room, w.Audit.By, w.Audit.MsgID, w.Applied)
	return ctx.Err()
}

func (t schemaTx) Create(ctx context.Context, d schema.Doc, ev rooms.Event, a schema.AuditEntry) error {
	if _, ok := t.Version(ev.Room); ok {
		return fmt.Errorf("schema %s: %w", d.ID, rooms.ErrExists)
	}
	if err := t.Append(ev.Room, schema.Kind, ev); err != nil {
		return err
	}
	t.kv.Put(schemaDocKey(d.ID), schemaDocRow{ID: d.ID, Name: d.Name, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt})
	a.Doc = d.ID
	t.kv.Put(schemaAuditKey(d.ID, a.Version), a)
	return ctx.Err()
}
