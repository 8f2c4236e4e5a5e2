package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"hotrow/rooms"
)

// Engine is one schema document room on this hub. Its methods are called
// only by the room's sequencer.
type Engine struct {
	// Committer runs edits as idempotent transactions and knows which
	// edits committed.
	rooms.Committer[Store]
	doc Doc
}

// Load implements rooms.Engine: the document with its version, and which
// edits committed.
func (e *Engine) Load(ctx context.Context) (int64, error) {
	return e.Committer.Load(ctx, func(ctx context.Context) (version int64, err error) {
		e.doc, err = e.Store.Get(ctx, e.ID)
		return e.doc.Version, err
	})
}

// Observe implements rooms.Engine: it applies the event's data to the
// cached document. An event that cannot be applied (it should not happen)
// is an error: the room then reloads the document from the store.
func (e *Engine) Observe(ev rooms.Event) error {
	if ev.Version <= e.doc.Version {
		return nil
	}
	if err := e.doc.ApplyEvent(ev.Kind, ev.Version, ev.Data); err != nil {
		return fmt.Errorf("schema event v%d (%s) does not apply to the cached document: %w", ev.Version, ev.Kind, err)
	}
	var ch Change
	if json.Unmarshal(ev.Data, &ch) == nil && ch.ID != "" {
		e.Applied.Learn(ev.By, ch.ID, ev.Version)
	}
	return nil
}

// State implements rooms.Engine: a deep copy of the document, safe to
// encode on another goroutine.
func (e *Engine) State(time.Time) any { return e.doc.Clone() }

// Doc is the cached document (a copy).
func (e *Engine) Doc() Doc { return e.doc.Clone() }

// Apply implements rooms.Engine.
func (e *Engine) Apply(ctx context.Context, m *rooms.Mutation) rooms.Outcome {
	if m.Op != "edit" {
		return rooms.Outcome{Reject: reject(rooms.ReasonInvalidRequest, "schema documents take edits only")}
	}
	op, err := ParseOp(m.Payload)
	if err != nil {
		return rooms.Outcome{Reject: reject(ReasonInvalidOp, "%s", err)}
	}
	opJSON, _ := json.Marshal(op)
	return rooms.Commit(ctx, &e.Committer, m, op.Kind, e.Store.Attempt, func(ctx context.Context, tx Tx, st rooms.Stamp) (rooms.Event, error) {
		doc, err := tx.Load()
		if err != nil {
			return rooms.Event{}, err
		}
		now := tx.Now()
		p, rej := MakePlan(&doc, op, m.ID, e.NewID)
		if rej != nil {
			return rooms.Event{}, rej
		}
		w := p.write(doc.ID, e.Room, op.Kind, m.User, m.ID, now.UTC(), opJSON)
		w.Applied = st.Applied(w.Event.Version)
		return w.Event, tx.Save(ctx, w)
	})
}

// write turns a plan into the rows to store.
func (p *Plan) write(docID, room, kind, user, msgID string, now time.Time, opJSON []byte) Write {
	version := p.Next.Version
	data, _ := json.Marshal(p.Change)
	return Write{
		DocID:          docID,
		InsertTable:    p.InsertTable,
		UpdateTable:    p.UpdateTable,
		InsertColumn:   p.InsertColumn,
		UpdateColumn:   p.UpdateColumn,
		InsertRelation: p.InsertRelation,
		Dropped:        derefDropped(p.Change.Dropped),
		Event:          rooms.Event{Room: room, Version: version, Kind: kind, By: user, At: now, Data: data},
		Audit: AuditEntry{Doc: docID, Version: version, By: user, At: now, MsgID: msgID, Kind: kind,
			Op: opJSON, Before: entitiesJSON(p.Before), After: entitiesJSON(p.After)},
	}
}

func derefDropped(d *Dropped) Dropped {
	if d == nil {
		return Dropped{}
	}
	return *d
}

func entitiesJSON(e *Entities) json.RawMessage {
	if e == nil {
		return json.RawMessage("null")
	}
	b, _ := json.Marshal(e)
	return b
}

var _ rooms.Engine = (*Engine)(nil)
