// Package schematest is the conformance suite every schema.Store runs: the
// schema engine against a real store (embedded or PostgreSQL), with
// concurrent editors on two "hubs", stale edits, injected failures,
// idempotent resends and event replay.
package schematest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotrow/rooms"
	"hotrow/rooms/schema"
	"hotrow/txn"
)

// Harness is one fresh store under test.
type Harness struct {
	Store schema.Store
	Log   rooms.Log
	// Rooms is the same store as compaction sees it.
	Rooms rooms.CompactStore
	// FailCommits, when set, makes every commit fail with err until it is
	// called with nil (memstore's KV.FailCommits). When nil, the suite
	// fails transactions after their writes, before COMMIT, instead.
	FailCommits func(err error)
}

// Run runs the suite; open makes a fresh, empty store for each test.
func Run(t *testing.T, open func(t *testing.T) Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"CreateGetAudit", testCreateGetAudit},
		{"EditsAuditReplay", testEditsAuditReplay},
		{"ConcurrentDifferentTables", testConcurrentDifferentTables},
		{"SameColumnSerializes", testSameColumnSerializes},
		{"SameColumnStale", testSameColumnStale},
		{"InjectedFailure", testInjectedFailure},
		{"IdempotentResend", testIdempotentResend},
		{"Rejections", testRejections},
		{"DropTableCascades", testDropTableCascades},
		{"CompactKeepsAuditLog", testCompactKeepsAuditLog},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := open(t)
			e := &env{t: t, h: h, fail: &atomic.Pointer[error]{}}
			store := h.Store
			if h.FailCommits == nil {
				store = failingStore{Store: h.Store, err: e.fail}
			}
			var n atomic.Int64
			e.store = store
			e.deps = rooms.Deps{
				Runner: &txn.Runner{Policy: txn.Policy{MaxAttempts: 100, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				NewID:  func() string { return fmt.Sprintf("id%d", n.Add(1)) },
			}
			e.svc = schema.NewService(e.store, e.deps)
			tc.fn(t, e)
		})
	}
}

type env struct {
	t     *testing.T
	h     Harness
	deps  rooms.Deps
	store schema.Store
	svc   *schema.Service
	fail  *atomic.Pointer[error]
}

// failingStore fails every transaction after fn's writes while an error is
// set, so that the store rolls it back.
type failingStore struct {
	schema.Store
	err *atomic.Pointer[error]
}

func (f failingStore) Attempt(ctx context.Context, id string, key rooms.Key, fn func(schema.Tx) error) error {
	return f.Store.Attempt(ctx, id, key, func(tx schema.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if p := f.err.Load(); p != nil {
			return *p
		}
		return nil
	})
}

func (e *env) setFail(err error) {
	if e.h.FailCommits != nil {
		e.h.FailCommits(err)
		return
	}
	if err == nil {
		e.fail.Store(nil)
	} else {
		e.fail.Store(&err)
	}
}

func (e *env) create(id string) {
	e.t.Helper()
	if _, err := e.svc.Create(context.Background(), schema.CreateRequest{ID: id, Name: "doc " + id}, "alice"); err != nil {
		e.t.Fatalf("create %s: %v", id, err)
	}
}

// hub is one engine, as one hub's sequencer would drive it.
type hub struct {
	e   *env
	eng rooms.Engine
}

func (e *env) hub(id string) *hub {
	e.t.Helper()
	eng := schema.RoomKind(e.store, e.deps).New(id)
	if _, err := eng.Load(context.Background()); err != nil {
		e.t.Fatalf("load %s: %v", id, err)
	}
	return &hub{e: e, eng: eng}
}

// edit applies one op as user with message id; it observes its own event.
func (h *hub) edit(user, id string, op any) rooms.Outcome {
	h.e.t.Helper()
	raw, err := json.Marshal(op)
	if err != nil {
		h.e.t.Fatal(err)
	}
	out := h.eng.Apply(context.Background(), &rooms.Mutation{Op: "edit", ID: id, User: user, Payload: raw})
	if out.Event != nil {
		h.eng.Observe(*out.Event)
	}
	return out
}

func (h *hub) ok(user, id string, op any) rooms.Outcome {
	h.e.t.Helper()
	out := h.edit(user, id, op)
	if out.Reject != nil {
		h.e.t.Fatalf("edit %s %v rejected: %s: %s", id, op, out.Reject.Reason, out.Reject.Message)
	}
	return out
}

// catchUp observes every event after the version the hub knows, as a
// sequencer filling a gap from the log does.
func (h *hub) catchUp(room string) {
	h.e.t.Helper()
	d := h.doc()
	v := h.e.get(d.ID).Version
	evs, err := h.e.h.Log.EventsAfter(context.Background(), room, d.Version, v)
	if err != nil {
		h.e.t.Fatal(err)
	}
	for _, ev := range evs {
		h.eng.Observe(ev)
	}
}

func (h *hub) doc() schema.Doc { return h.eng.(*schema.Engine).Doc() }

func (e *env) get(id string) schema.Doc {
	e.t.Helper()
	d, err := e.svc.Get(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return d
}

func (e *env) audit(id string) []schema.AuditEntry {
	e.t.Helper()
	a, err := e.svc.Audit(context.Background(), id)
	if err != nil {
		e.t.Fatalf("audit %s: %v", id, err)
	}
	return a
}

// sameDoc compares documents, including the hidden order keys.
func sameDoc(t *testing.T, what string, got, want schema.Doc) {
	t.Helper()
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	got.CreatedBy, want.CreatedBy = "", ""
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func tableID(t *testing.T, out rooms.Outcome) string {
	t.Helper()
	var ch schema.Change
	if err := json.Unmarshal(out.Event.Data, &ch); err != nil || ch.Table == nil {
		t.Fatalf("event data %s has no table (%v)", out.Event.Data, err)
	}
	return ch.Table.ID
}

func columnID(t *testing.T, out rooms.Outcome) string {
	t.Helper()
	var ch schema.Change
	if err := json.Unmarshal(out.Event.Data, &ch); err != nil || ch.Column == nil {
		t.Fatalf("event data %s has no column (%v)", out.Event.Data, err)
	}
	return ch.Column.ID
}

type m = map[string]any

func testCreateGetAudit(t *testing.T, e *env) {
	ctx := context.Background()
	d, err := e.svc.Create(ctx, schema.CreateRequest{ID: "d1", Name: " Shop "}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 1 || d.Name != "Shop" || d.ID != "d1" {
		t.Fatalf("created %+v", d)
	}
	got := e.get("d1")
	if got.Version != 1 || got.Name != "Shop" || got.CreatedBy != "alice" || len(got.Tables) != 0 || got.Tables == nil || got.Relations == nil {
		t.Fatalf("get = %+v", got)
	}
	if _, err := e.svc.Create(ctx, schema.CreateRequest{ID: "d1", Name: "again"}, "bob"); !errors.Is(err, rooms.ErrExists) {
		t.Fatalf("create again: %v, want ErrExists", err)
	}
	var fe *rooms.FieldError
	if _, err := e.svc.Create(ctx, schema.CreateRequest{ID: "bad id", Name: "x"}, "bob"); !errors.As(err, &fe) || fe.Field != "id" {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := e.svc.Create(ctx, schema.CreateRequest{Name: " "}, "bob"); !errors.As(err, &fe) || fe.Field != "name" {
		t.Fatalf("no name: %v", err)
	}
	gen, err := e.svc.Create(ctx, schema.CreateRequest{Name: "generated"}, "bob")
	if err != nil || gen.ID == "" {
		t.Fatalf("generated id: %+v %v", gen, err)
	}
	a := e.audit("d1")
	if len(a) != 1 || a[0].Version != 1 || a[0].Kind != schema.KindCreated || a[0].By != "alice" {
		t.Fatalf("audit = %+v", a)
	}
	if _, err := e.svc.Get(ctx, "nope"); !errors.Is(err, rooms.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := e.svc.Audit(ctx, "nope"); !errors.Is(err, rooms.ErrNotFound) {
		t.Fatalf("audit missing: %v", err)
	}
	if _, err := e.svc.DDL(ctx, "nope", "postgres"); !errors.Is(err, rooms.ErrNotFound) {
		t.Fatalf("ddl missing: %v", err)
	}
	if _, err := e.svc.DDL(ctx, "d1", "mysql"); !errors.As(err, &fe) || fe.Field != "dialect" {
		t.Fatalf("ddl dialect: %v", err)
	}
	evs, err := e.h.Log.EventsAfter(ctx, schema.Room("d1"), 0, 1)
	if err != nil || len(evs) != 1 || evs[0].Kind != schema.KindCreated {
		t.Fatalf("events = %+v %v", evs, err)
	}
}

// build makes a document with every op kind; it returns the hub.
func build(t *testing.T, e *env, id string) *hub {
	e.create(id)
	h := e.hub(id)
	users := h.ok("alice", "m1", m{"kind": "create_table", "name": "users", "x": 10, "y": 20})
	u := tableID(t, users)
	uid := columnID(t, h.ok("alice", "m2", m{"kind": "add_column", "table": u, "name": "id", "type": "BIGINT", "primary_key": true}))
	h.ok("alice", "m3", m{"kind": "add_column", "table": u, "name": "email", "type": "varchar(200)", "unique": true, "nullable": false})
	orders := tableID(t, h.ok("bob", "m1", m{"kind": "create_table", "name": "orders"}))
	oid := columnID(t, h.ok("bob", "m2", m{"kind": "add_column", "table": orders, "name": "id", "type": "uuid", "primary_key": true, "default": "gen_random_uuid()"}))
	ouser := columnID(t, h.ok("bob", "m3", m{"kind": "add_column", "table": orders, "name": "user_id", "type": "integer"}))
	h.ok("bob", "m4", m{"kind": "add_column", "table": orders, "name": "total", "type": "numeric(12,2)", "default": "0.00", "nullable": false})
	h.ok("bob", "m5", m{"kind": "add_relation", "from_table": orders, "from_column": ouser, "to_table": u, "to_column": uid, "on_delete": "set null"})
	h.ok("alice", "m4", m{"kind": "rename_table", "table": orders, "name": "Orders \"2024\""})
	h.ok("alice", "m5", m{"kind": "move_table", "table": u, "x": -5.5, "y": 100})
	h.ok("alice", "m6", m{"kind": "alter_column", "table": orders, "column": oid, "name": "order id"})
	tmp := tableID(t, h.ok("carol", "m1", m{"kind": "create_table", "name": "tmp"}))
	tcol := columnID(t, h.ok("carol", "m2", m{"kind": "add_column", "table": tmp, "name": "x", "type": "text", "default": "it's"}))
	h.ok("carol", "m3", m{"kind": "drop_column", "table": tmp, "column": tcol})
	rel := h.ok("carol", "m4", m{"kind": "add_relation", "from_table": tmp, "from_column": columnID(t, h.ok("carol", "m5", m{"kind": "add_column", "table": tmp, "name": "u", "type": "bigint"})), "to_table": u, "to_column": uid})
	var ch schema.Change
	_ = json.Unmarshal(rel.Event.Data, &ch)
	h.ok("carol", "m6", m{"kind": "drop_relation", "relation": ch.Relation.ID})
	h.ok("carol", "m7", m{"kind": "drop_table", "table": tmp})
	return h
}

func testEditsAuditReplay(t *testing.T, e *env) {
	ctx := context.Background()
	h := build(t, e, "doc")
	stored := e.get("doc")
	if stored.Version != 19 {
		t.Fatalf("version = %d, want 19", stored.Version)
	}
	sameDoc(t, "cached document vs stored", h.doc(), stored)
	// A hub that loads now sees the same.
	sameDoc(t, "fresh hub vs stored", e.hub("doc").doc(), stored)
	// Replaying every event from the log rebuilds the document: events
	// carry everything a client needs.
	evs, err := e.h.Log.EventsAfter(ctx, schema.Room("doc"), 0, stored.Version)
	if err != nil || int64(len(evs)) != stored.Version {
		t.Fatalf("events: %d, %v", len(evs), err)
	}
	var replay schema.Doc
	for _, ev := range evs {
		if err := replay.ApplyEvent(ev.Kind, ev.Version, ev.Data); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	replay.CreatedAt, replay.CreatedBy = stored.CreatedAt, stored.CreatedBy
	sameDoc(t, "replayed vs stored", replay, stored)
	// The audit log has one entry per version, in order, matching events.
	a := e.audit("doc")
	if len(a) != len(evs) {
		t.Fatalf("audit has %d entries, events %d", len(a), len(evs))
	}
	for i, x := range a {
		if x.Version != int64(i+1) || x.Kind != evs[i].Kind || x.By != evs[i].By || !x.At.Equal(evs[i].At) {
			t.Fatalf("audit[%d] = %+v, event %+v", i, x, evs[i])
		}
		if i > 0 && (x.MsgID == "" || !json.Valid(x.Op) || !json.Valid(x.Before) || !json.Valid(x.After)) {
			t.Fatalf("audit[%d] = %+v", i, x)
		}
	}
	// drop_table's audit entry holds the table before.
	last := a[len(a)-1]
	if last.Kind != schema.OpDropTable || string(last.After) != "null" || !json.Valid(last.Before) {
		t.Fatalf("last audit = %+v", last)
	}
	var before schema.Entities
	if err := json.Unmarshal(last.Before, &before); err != nil || before.Table == nil || before.Table.Name != "tmp" {
		t.Fatalf("drop_table before = %s", last.Before)
	}
	// The export of the stored document is deterministic.
	x1, _ := e.svc.DDL(ctx, "doc", "postgres")
	x2, _ := schema.Export(h.doc(), schema.Postgres)
	if x1 != x2 {
		t.Fatalf("exports differ:\n%s\n%s", x1, x2)
	}
}

func testConcurrentDifferentTables(t *testing.T, e *env) {
	e.create("doc")
	a, b := e.hub("doc"), e.hub("doc")
	ta := tableID(t, a.ok("alice", "t", m{"kind": "create_table", "name": "a"}))
	tb := tableID(t, a.ok("alice", "t2", m{"kind": "create_table", "name": "b"}))
	b.catchUp(schema.Room("doc"))
	const n = 8
	var wg sync.WaitGroup
	outs := make([][]rooms.Outcome, 2)
	for i, h := range []*hub{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tbl := []string{ta, tb}[i]
			for j := 0; j < n; j++ {
				raw, _ := json.Marshal(m{"kind": "add_column", "table": tbl, "name": fmt.Sprintf("c%d", j), "type": "text"})
				outs[i] = append(outs[i], h.eng.Apply(context.Background(), &rooms.Mutation{Op: "edit", ID: fmt.Sprintf("e%d", j), User: fmt.Sprint("u", i), Payload: raw}))
			}
		}()
	}
	wg.Wait()
	versions := map[int64]bool{}
	for i := range outs {
		for _, o := range outs[i] {
			if o.Reject != nil || o.Event == nil {
				t.Fatalf("hub %d: edit did not commit: %+v", i, o.Reject)
			}
			if versions[o.Version] {
				t.Fatalf("version %d committed twice", o.Version)
			}
			versions[o.Version] = true
		}
	}
	d := e.get("doc")
	if d.Version != 3+2*n || len(d.Table(ta).Columns) != n || len(d.Table(tb).Columns) != n {
		t.Fatalf("doc at %d with %d and %d columns", d.Version, len(d.Table(ta).Columns), len(d.Table(tb).Columns))
	}
	// Both hubs follow the log to the same document.
	a.catchUp(schema.Room("doc"))
	b.catchUp(schema.Room("doc"))
	sameDoc(t, "hub a", a.doc(), d)
	sameDoc(t, "hub b", b.doc(), d)
}

func setupColumn(t *testing.T, e *env) (a, b *hub, tbl, col string) {
	e.create("doc")
	a, b = e.hub("doc"), e.hub("doc")
	tbl = tableID(t, a.ok("alice", "t", m{"kind": "create_table", "name": "t"}))
	col = columnID(t, a.ok("alice", "c", m{"kind": "add_column", "table": tbl, "name": "c", "type": "integer"}))
	return a, b, tbl, col
}

func testSameColumnSerializes(t *testing.T, e *env) {
	a, b, tbl, col := setupColumn(t, e)
	// Without expect_rev both commit, one after the other.
	o1 := a.ok("alice", "r1", m{"kind": "alter_column", "table": tbl, "column": col, "name": "by_alice"})
	o2 := b.ok("bob", "r1", m{"kind": "alter_column", "table": tbl, "column": col, "name": "by_bob"})
	if o2.Version != o1.Version+1 {
		t.Fatalf("versions %d then %d", o1.Version, o2.Version)
	}
	d := e.get("doc")
	c := d.Table(tbl).Column(col)
	if c.Name != "by_bob" || c.Rev != 3 {
		t.Fatalf("column = %+v", c)
	}
	au := e.audit("doc")
	if n := len(au); au[n-2].By != "alice" || au[n-1].By != "bob" {
		t.Fatalf("audit order: %+v", au[n-2:])
	}
	// Concurrently too.
	var wg sync.WaitGroup
	var outs [2]rooms.Outcome
	for i, h := range []*hub{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, _ := json.Marshal(m{"kind": "alter_column", "table": tbl, "column": col, "nullable": i == 0})
			outs[i] = h.eng.Apply(context.Background(), &rooms.Mutation{Op: "edit", ID: "x", User: fmt.Sprint(i), Payload: raw})
		}()
	}
	wg.Wait()
	if outs[0].Reject != nil || outs[1].Reject != nil || outs[0].Version == outs[1].Version {
		t.Fatalf("concurrent: %+v %+v", outs[0], outs[1])
	}
	if d := e.get("doc"); d.Table(tbl).Column(col).Rev != 5 {
		c := d.Table(tbl).Column(col)
		t.Fatalf("rev = %d, want 5", c.Rev)
	}
}

func testSameColumnStale(t *testing.T, e *env) {
	a, b, tbl, col := setupColumn(t, e)
	a.ok("alice", "r1", m{"kind": "alter_column", "table": tbl, "column": col, "name": "first", "expect_rev": 1})
	// b has not seen a's edit: its expect_rev is behind.
	out := b.edit("bob", "r1", m{"kind": "alter_column", "table": tbl, "column": col, "name": "second", "expect_rev": 1})
	if out.Reject == nil || out.Reject.Reason != schema.ReasonStale {
		t.Fatalf("second edit = %+v, want stale", out)
	}
	cur, ok := out.Reject.Current.(schema.Column)
	if !ok || cur.Name != "first" || cur.Rev != 2 || cur.ID != col {
		t.Fatalf("current = %#v", out.Reject.Current)
	}
	// Concurrent edits with the same expect_rev: exactly one commits.
	var wg sync.WaitGroup
	var outs [2]rooms.Outcome
	for i, h := range []*hub{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, _ := json.Marshal(m{"kind": "alter_column", "table": tbl, "column": col, "name": fmt.Sprint("n", i), "expect_rev": 2})
			outs[i] = h.eng.Apply(context.Background(), &rooms.Mutation{Op: "edit", ID: "y", User: fmt.Sprint(i), Payload: raw})
		}()
	}
	wg.Wait()
	stale := 0
	for _, o := range outs {
		if o.Reject != nil {
			if o.Reject.Reason != schema.ReasonStale {
				t.Fatalf("reject %+v", o.Reject)
			}
			if c := o.Reject.Current.(schema.Column); c.Rev != 3 {
				t.Fatalf("stale current rev %d", c.Rev)
			}
			stale++
		}
	}
	if stale != 1 {
		t.Fatalf("%d stale, want exactly 1: %+v", stale, outs)
	}
	// Table targets: the current entity is the table with its columns.
	a.ok("alice", "mv", m{"kind": "move_table", "table": tbl, "x": 1, "y": 2})
	out = b.edit("bob", "mv", m{"kind": "rename_table", "table": tbl, "name": "z", "expect_rev": 1})
	ct, ok := out.Reject.Current.(schema.Table)
	if out.Reject.Reason != schema.ReasonStale || !ok || ct.Rev != 2 || len(ct.Columns) != 1 {
		t.Fatalf("table stale = %+v %#v", out.Reject, out.Reject.Current)
	}
}

func testInjectedFailure(t *testing.T, e *env) {
	ctx := context.Background()
	e.create("doc")
	h := e.hub("doc")
	tbl := tableID(t, h.ok("alice", "t", m{"kind": "create_table", "name": "t"}))
	before, audit := e.get("doc"), e.audit("doc")
	e.setFail(errors.New("injected: the disk is on fire"))
	for _, op := range []m{
		{"kind": "add_column", "table": tbl, "name": "c", "type": "integer"},
		{"kind": "drop_table", "table": tbl},
	} {
		out := h.edit("alice", "boom", op)
		if out.Reject == nil || out.Reject.Reason != schema.ReasonUnavailable || out.Event != nil {
			t.Fatalf("edit under failure = %+v", out)
		}
	}
	e.setFail(nil)
	sameDoc(t, "after failed edits", e.get("doc"), before)
	if got := e.audit("doc"); len(got) != len(audit) {
		t.Fatalf("audit grew to %d entries after failed edits", len(got))
	}
	if evs, _ := e.h.Log.EventsAfter(ctx, schema.Room("doc"), before.Version, before.Version+10); len(evs) != 0 {
		t.Fatalf("failed edits appended %d events", len(evs))
	}
	// The same id commits once the store is back.
	out := h.ok("alice", "boom", m{"kind": "add_column", "table": tbl, "name": "c", "type": "integer"})
	if out.Version != before.Version+1 {
		t.Fatalf("version %d", out.Version)
	}
}

func testIdempotentResend(t *testing.T, e *env) {
	e.create("doc")
	a, b := e.hub("doc"), e.hub("doc")
	op := m{"kind": "create_table", "name": "t"}
	first := a.ok("alice", "same", op)
	again := a.edit("alice", "same", op)
	if again.Reject != nil || again.Event != nil || again.Version != first.Version || again.Attempts != first.Attempts {
		t.Fatalf("resend on the same hub = %+v, first %+v", again, first)
	}
	// Another hub that has not seen the event finds the record in the store.
	other := b.edit("alice", "same", op)
	if other.Reject != nil || other.Event != nil || other.Version != first.Version {
		t.Fatalf("resend on another hub = %+v", other)
	}
	// A hub loaded afterwards knows the id.
	fresh := e.hub("doc").edit("alice", "same", op)
	if fresh.Reject != nil || fresh.Event != nil || fresh.Version != first.Version {
		t.Fatalf("resend on a fresh hub = %+v", fresh)
	}
	// The same id from another user is another message (and a duplicate name).
	if out := a.edit("bob", "same", op); out.Reject == nil || out.Reject.Reason != schema.ReasonDuplicateName {
		t.Fatalf("bob's edit = %+v", out)
	}
	if d := e.get("doc"); d.Version != 2 || len(d.Tables) != 1 {
		t.Fatalf("doc at %d with %d tables", d.Version, len(d.Tables))
	}
	if n := len(e.audit("doc")); n != 2 {
		t.Fatalf("audit has %d entries", n)
	}
}

func testRejections(t *testing.T, e *env) {
	e.create("doc")
	h := e.hub("doc")
	tbl := tableID(t, h.ok("alice", "t", m{"kind": "create_table", "name": "t"}))
	h.ok("alice", "c", m{"kind": "add_column", "table": tbl, "name": "c", "type": "integer"})
	for _, tc := range []struct {
		op     any
		reason string
	}{
		{m{"kind": "rename_table", "table": "nope", "name": "x"}, schema.ReasonNotFound},
		{m{"kind": "create_table", "name": "t"}, schema.ReasonDuplicateName},
		{m{"kind": "add_column", "table": tbl, "name": "c", "type": "text"}, schema.ReasonDuplicateName},
		{m{"kind": "add_column", "table": tbl, "name": "d", "type": "varchar(2)", "default": "abc"}, schema.ReasonInvalidOp},
		{m{"kind": "add_column", "table": tbl, "name": "d", "type": "json"}, schema.ReasonInvalidOp},
		{m{"kind": "create_table", "name": string(make([]byte, 64))}, schema.ReasonInvalidOp},
		{m{"kind": "teleport"}, schema.ReasonInvalidOp},
		{m{"kind": "drop_relation", "relation": "r"}, schema.ReasonNotFound},
	} {
		out := h.edit("alice", fmt.Sprint(tc.op), tc.op)
		if out.Reject == nil || out.Reject.Reason != tc.reason || out.Reject.Message == "" {
			t.Errorf("%v = %+v, want %s", tc.op, out.Reject, tc.reason)
		}
	}
	if d := e.get("doc"); d.Version != 3 {
		t.Fatalf("rejected edits moved the version to %d", d.Version)
	}
}

func testDropTableCascades(t *testing.T, e *env) {
	e.create("doc")
	h := e.hub("doc")
	p := tableID(t, h.ok("a", "1", m{"kind": "create_table", "name": "parent"}))
	pid := columnID(t, h.ok("a", "2", m{"kind": "add_column", "table": p, "name": "id", "type": "bigint", "primary_key": true}))
	c := tableID(t, h.ok("a", "3", m{"kind": "create_table", "name": "child"}))
	cid := columnID(t, h.ok("a", "4", m{"kind": "add_column", "table": c, "name": "parent_id", "type": "integer"}))
	h.ok("a", "5", m{"kind": "add_relation", "from_table": c, "from_column": cid, "to_table": p, "to_column": pid, "on_delete": "cascade"})
	ref := columnID(t, h.ok("a", "6", m{"kind": "add_column", "table": p, "name": "parent_ref", "type": "bigint"}))
	h.ok("a", "7", m{"kind": "add_relation", "from_table": p, "from_column": ref, "to_table": p, "to_column": pid})
	out := h.ok("a", "8", m{"kind": "drop_table", "table": p, "expect_rev": 1})
	var ch schema.Change
	if err := json.Unmarshal(out.Event.Data, &ch); err != nil || ch.Dropped == nil ||
		len(ch.Dropped.Tables) != 1 || len(ch.Dropped.Columns) != 2 || len(ch.Dropped.Relations) != 2 {
		t.Fatalf("drop data = %s", out.Event.Data)
	}
	d := e.get("doc")
	if len(d.Tables) != 1 || len(d.Relations) != 0 || len(d.Table(c).Columns) != 1 {
		t.Fatalf("after drop: %+v", d)
	}
	sameDoc(t, "cached", h.doc(), d)
}
