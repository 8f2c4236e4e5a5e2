package schema

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"hotrow/internal/clock"
	"hotrow/internal/randid"
	"hotrow/rooms"
	"hotrow/txn"
)

// Kind is the room kind and the kind label of the txn metrics.
const Kind = "schema"

// Deps are what a schema engine and the schema service need.
type Deps struct {
	Store  Store
	Runner *txn.Runner
	Clock  clock.Clock
	Logger *slog.Logger
	// NewID makes the ids of new tables, columns, relations and documents;
	// nil means RandomID.
	NewID func() string
}

func (d *Deps) defaults() {
	if d.Runner == nil {
		d.Runner = &txn.Runner{}
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.NewID == nil {
		d.NewID = RandomID
	}
}

// RandomID returns 16 random characters of [a-z0-9].
func RandomID() string { return randid.New(16) }

// Factory returns the rooms.Factory for schema rooms.
func Factory(d Deps) rooms.Factory {
	d.defaults()
	return func(id string) rooms.Engine { return &Engine{Deps: d, id: id, room: Room(id)} }
}

// Engine is one schema document room on this hub. Its methods are called
// only by the room's sequencer.
type Engine struct {
	Deps
	id, room string
	doc      Doc
	applied  rooms.AppliedSet
}

// Load implements rooms.Engine.
func (e *Engine) Load(ctx context.Context) (int64, error) {
	d, err := e.Store.Get(ctx, e.id)
	if err != nil {
		return 0, err
	}
	ids, err := e.Store.AppliedIDs(ctx, e.room)
	if err != nil {
		return 0, err
	}
	e.doc, e.applied = d, ids
	return d.Version, nil
}

// Observe implements rooms.Engine: it applies the event's data to the
// cached document. An event that cannot be applied (it should not happen)
// makes the engine reload the document from the store.
func (e *Engine) Observe(ev rooms.Event) {
	if ev.Version <= e.doc.Version {
		return
	}
	if err := e.doc.ApplyEvent(ev.Kind, ev.Version, ev.Data); err != nil {
		e.Logger.Error("schema event does not apply to the cached document; reloading", "room", e.room, "version", ev.Version, "err", err)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if d, gerr := e.Store.Get(ctx, e.id); gerr == nil {
			e.doc = d
		} else {
			e.Logger.Error("reloading schema document failed", "room", e.room, "err", gerr)
		}
	}
	var ch Change
	if json.Unmarshal(ev.Data, &ch) == nil && ch.ID != "" {
		e.applied.Learn(ev.By, ch.ID, ev.Version)
	}
}

// State implements rooms.Engine: a deep copy of the document, safe to
// encode on another goroutine.
func (e *Engine) State(time.Time) any { return e.doc.Clone() }

// Doc is the cached document (a copy).
func (e *Engine) Doc() Doc { return e.doc.Clone() }

// Apply implements rooms.Engine.
func (e *Engine) Apply(ctx context.Context, m *rooms.Mutation) rooms.Outcome {
	if m.Op != "edit" {
		return rooms.Outcome{Reject: &rooms.RejectReply{Reason: "invalid_request", Message: "schema documents take edits only"}}
	}
	op, err := ParseOp(m.Payload)
	if err != nil {
		return rooms.Outcome{Reject: &rooms.RejectReply{Reason: ReasonInvalidOp, Message: err.Error()}}
	}
	if prior, ok := e.applied.Answer(m.User, m.ID); ok {
		return rooms.Outcome{Version: prior.Version, Attempts: prior.Attempts}
	}
	opJSON, _ := json.Marshal(op)
	var (
		attempts int
		dup      *rooms.Applied
		ev       rooms.Event
	)
	res, err := e.Runner.Run(ctx, Kind, op.Kind, func(ctx context.Context) error {
		attempts++
		dup = nil
		return e.Store.Attempt(ctx, func(tx Tx) error {
			if ap, found, err := tx.FindApplied(ctx, e.room, m.User, m.ID); err != nil {
				return err
			} else if found {
				dup = &ap
				return nil
			}
			doc, err := tx.Load(ctx, e.id)
			if err != nil {
				return err
			}
			now, err := tx.Now(ctx)
			if err != nil {
				return err
			}
			p, rej := MakePlan(&doc, op, m.ID, e.NewID)
			if rej != nil {
				return rej
			}
			w := p.write(doc.ID, e.room, op.Kind, m.User, m.ID, now.UTC(), opJSON)
			w.Applied = rooms.Applied{Version: w.Event.Version, Attempts: attempts}
			ev = w.Event
			return tx.Save(ctx, w)
		})
	})
	if err != nil {
		return e.failure(err, op.Kind)
	}
	if dup != nil {
		e.applied.Record(m.User, m.ID, *dup)
		return rooms.Outcome{Version: dup.Version, Attempts: dup.Attempts}
	}
	e.applied.Record(m.User, m.ID, rooms.Applied{Version: ev.Version, Attempts: res.Attempts})
	return rooms.Outcome{Event: &ev, Version: ev.Version, Attempts: res.Attempts}
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

// failure turns a failed Run into the reply: a rejection as is, anything
// else as unavailable (logged here, once).
func (e *Engine) failure(err error, op string) rooms.Outcome {
	var rej *Rejection
	if errors.As(err, &rej) {
		return rooms.Outcome{Reject: &rooms.RejectReply{Reason: rej.Reason, Message: rej.Message, Current: rej.Current}}
	}
	e.Logger.Error("schema transaction failed", "room", e.room, "op", op, "err", err)
	msg := "the edit could not be committed right now; resending the same id is safe"
	if errors.Is(err, txn.ErrTooLarge) {
		msg = "the edit exceeded the database's transaction limits (Aurora DSQL: 3,000 rows, 10 MiB) and had no effect; resending will not help"
	}
	return rooms.Outcome{Reject: &rooms.RejectReply{Reason: ReasonUnavailable, Message: msg}}
}

var (
	_ rooms.Engine  = (*Engine)(nil)
	_ txn.Rejection = (*Rejection)(nil)
)
