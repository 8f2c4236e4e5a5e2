package schema

import (
	"context"
	"encoding/json"
	"time"

	"hotrow/rooms"
)

// AuditEntry is one row of a document's audit log: who did what, when,
// with the entities before and after (JSON null when there were none). It
// is written in the transaction that makes the change.
type AuditEntry struct {
	Doc     string          `json:"-"`
	Version int64           `json:"version"`
	By      string          `json:"by"`
	At      time.Time       `json:"at"`
	MsgID   string          `json:"id"` // the edit message's id; "" for created
	Kind    string          `json:"kind"`
	Op      json.RawMessage `json:"op"`
	Before  json.RawMessage `json:"before"`
	After   json.RawMessage `json:"after"`
}

// Write is everything one committed edit stores, atomically: the entity
// rows (inserted entities take Event.Version as their order key Pos), the
// dropped ids, the room version bump to Event.Version with the event, the
// audit entry, and the idempotency record of (Event.Room, Audit.By,
// Audit.MsgID).
type Write struct {
	DocID                      string
	InsertTable, UpdateTable   *Table // columns are not written with a table
	InsertColumn, UpdateColumn *Column
	InsertRelation             *Relation
	Dropped                    Dropped
	Event                      rooms.Event
	Audit                      AuditEntry
	Applied                    rooms.Applied
}

// Rows is how many rows the write changes (compare DSQLMaxRows).
func (w *Write) Rows() int {
	n := 4 // room version, event, audit entry, idempotency record
	for _, p := range []bool{w.InsertTable != nil, w.UpdateTable != nil, w.InsertColumn != nil,
		w.UpdateColumn != nil, w.InsertRelation != nil} {
		if p {
			n++
		}
	}
	return n + len(w.Dropped.Tables) + len(w.Dropped.Columns) + len(w.Dropped.Relations)
}

// Tx is one database transaction of one document as the schema rules use
// it. What it reads, it read when it began (the first round trip: the
// message's idempotency record, the document at its room version, and the
// database's clock); what it writes goes to the database with its COMMIT
// (the second), or, in a store that cannot wait, at once.
type Tx interface {
	// Applied is the idempotency record of the attempt's key, if the
	// message committed before.
	rooms.Tx
	// Load is the whole document at its room version (Doc.Version),
	// normalized, as the transaction read it; rooms.ErrNotFound if there
	// is none.
	Load() (Doc, error)
	// Now is the database's clock, read as the transaction began. UTC, at
	// microsecond precision.
	Now() time.Time
	// Save stores one edit (see Write).
	Save(ctx context.Context, w Write) error
	// Create stores a new, empty document, its room at version 1, ev and
	// the audit entry; rooms.ErrExists if the id is taken.
	Create(ctx context.Context, d Doc, ev rooms.Event, a AuditEntry) error
}

// Store is where schema documents live: the embedded store or
// PostgreSQL/DSQL, one row per document, table, column, relation and audit
// entry.
type Store interface {
	// Attempt runs fn in one transaction of document id (one attempt),
	// rolling back when fn fails. The transaction reads, as it begins,
	// key's idempotency record (when key.ID is set), the document and the
	// database's clock, which fn finds in tx; the writes fn makes are sent
	// with the COMMIT. On PostgreSQL and DSQL that is two round trips.
	// Retrying is the caller's business.
	Attempt(ctx context.Context, id string, key rooms.Key, fn func(Tx) error) error
	// Get reads one document at its version outside a transaction;
	// rooms.ErrNotFound if there is none.
	Get(ctx context.Context, id string) (Doc, error)
	// Audit returns a document's audit log, oldest first;
	// rooms.ErrNotFound if there is no such document.
	Audit(ctx context.Context, id string) ([]AuditEntry, error)
	// FindApplied, AppliedAfter and the summaries: the room's idempotency
	// records outside a transaction.
	rooms.AppliedStore
	// List returns a summary of every document, newest first.
	List(ctx context.Context) ([]Summary, error)
}

// Provider is a store that holds schema documents.
type Provider interface {
	Schemas() Store
}

// Summary is one document as a list shows it (GET /api/schemas): no
// tables or columns, only how many tables it has.
type Summary struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Version   int64     `json:"version"`
	Tables    int       `json:"tables"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}
