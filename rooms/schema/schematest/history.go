package schematest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"hotrow/rooms"
	"hotrow/rooms/schema"
)

// smallIDs makes the window and the summary's segments tiny, so that a
// document of a few dozen edits has most of its ids summarized.
var smallIDs = rooms.IDConfig{Window: 6, Step: 3, SegmentBase: 4, SegmentMax: 8}

// upkeeper is what the sequencer calls after each message.
type upkeeper interface {
	UpkeepDue(known int64) bool
	Upkeep(ctx context.Context, known int64)
}

// A document edited for long, compacted, then loaded by a restarted hub:
// the document and its audit log (every entry, the audit log the contract
// promises) are unchanged, the newest events are kept gapless, and every
// edit resent, of any age, gets its original ack without a second effect.
func testCompactKeepsAuditLog(t *testing.T, e *env) {
	ctx := context.Background()
	if e.h.Rooms == nil {
		t.Fatal("the harness has no Rooms: give it the store as a rooms.CompactStore")
	}
	e.deps.IDs = smallIDs
	e.create("long")
	h := e.hub("long")
	tbl := tableID(t, h.ok("alice", "t", m{"kind": "create_table", "name": "t"}))
	acks := map[string]rooms.Outcome{}
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("move-%d", i)
		acks[id] = h.ok("alice", id, m{"kind": "move_table", "table": tbl, "x": i, "y": -i})
		if u := h.eng.(upkeeper); u.UpkeepDue(acks[id].Version) {
			u.Upkeep(ctx, acks[id].Version)
		}
	}
	room := schema.Room("long")
	doc, audit := e.get("long"), e.audit("long")
	evs, _ := e.h.Log.EventsAfter(ctx, room, 0, doc.Version)

	rep, err := rooms.Compact(ctx, e.h.Rooms, rooms.Retention{KeepEvents: 5, KeepFor: -1, Batch: 3, IDs: smallIDs}, time.Now(), e.deps.Logger)
	if err != nil || rep.EventsDeleted != doc.Version-5 || rep.MaxBatch > 3 {
		t.Fatalf("compaction: %+v %v; want %d events deleted, at most 3 a transaction", rep, err, doc.Version-5)
	}
	sameDoc(t, "the document after compaction", e.get("long"), doc)
	if got := e.audit("long"); !reflect.DeepEqual(got, audit) {
		t.Fatalf("compaction changed the audit log: %d entries, were %d", len(got), len(audit))
	}
	if got, _ := e.h.Log.EventsAfter(ctx, room, 0, doc.Version); !reflect.DeepEqual(got, evs[len(evs)-5:]) {
		t.Fatalf("after compaction the log holds %d events, want the newest 5 unchanged", len(got))
	}
	fresh := e.hub("long")
	for id, first := range acks {
		out := fresh.edit("alice", id, m{"kind": "move_table", "table": tbl, "x": 1, "y": 1})
		if out.Reject != nil || out.Event != nil || out.Version != first.Version || out.Attempts != first.Attempts {
			t.Fatalf("resend of %s after compaction = %+v, first ack %+v", id, out, first)
		}
	}
	sameDoc(t, "the document after the resends", e.get("long"), doc)
	if n := len(e.audit("long")); n != len(audit) {
		t.Fatalf("resends added audit entries: %d, were %d", n, len(audit))
	}
}
