package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"hotrow/internal/clock"
	"hotrow/internal/testkit"
	"hotrow/internal/testpg"
	"hotrow/txn/memstore"
)

func TestSchemaCollaborationEmbedded(t *testing.T) {
	testSchemaCollaboration(t, startHub(t, memstore.New(clock.Real{}), "mem"))
}

func TestSchemaCollaborationPostgres(t *testing.T) {
	testSchemaCollaboration(t, startHub(t, pgStore(t, testpg.DSN(t)), "pg"))
}

// Two people in one document see each other's edits live; a concurrent edit
// of the same column gives one of them stale with the current value; a
// socket that drops mid-edit recovers with since; the audit log matches the
// history and the DDL export is served.
func testSchemaCollaboration(t *testing.T, h *testHub) {
	resp, err := http.Post(h.url+"/api/schemas", "application/json", strings.NewReader(`{"id":"shop","name":"Shop"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create schema: %s", resp.Status)
	}
	ann, ben := testkit.Dial(t, h.url, "ann"), testkit.Dial(t, h.url, "ben")
	for _, c := range []*testkit.Client{ann, ben} {
		c.Send(map[string]any{"type": "join", "room": "schema:shop"})
		if j := c.Until("joined"); j["version"] != float64(1) {
			t.Fatalf("joined %v", j)
		}
	}
	edit := func(c *testkit.Client, id string, op map[string]any) map[string]any {
		t.Helper()
		c.Send(map[string]any{"type": "edit", "room": "schema:shop", "id": id, "op": op})
		for {
			m := c.Next()
			if m["type"] == "ack" || m["type"] == "reject" {
				return m
			}
		}
	}
	// Collaborators see each other's cursors in the document.
	ann.Send(map[string]any{"type": "cursor", "room": "schema:shop", "pos": map[string]any{"x": 12, "y": 34}})
	for seen := false; !seen; {
		m := ben.Until("cursors")
		list, _ := m["cursors"].([]any)
		for _, c := range list {
			cur := c.(map[string]any)
			if pos, _ := cur["pos"].(map[string]any); cur["user"] == "ann" && pos != nil && pos["x"] == float64(12) {
				seen = true
			}
		}
	}

	// ann creates a table; both see the event with the table's id.
	if a := edit(ann, "e1", map[string]any{"kind": "create_table", "name": "orders"}); a["type"] != "ack" {
		t.Fatalf("create_table: %v", a)
	}
	ev := ben.Until("event")
	table := ev["data"].(map[string]any)["table"].(map[string]any)["id"].(string)
	// (An editor's own event arrives before its ack: edit() read past it.)
	if a := edit(ben, "e2", map[string]any{"kind": "add_column", "table": table, "name": "total", "type": "numeric(12,2)", "default": "0"}); a["type"] != "ack" {
		t.Fatalf("add_column: %v", a)
	}
	ev = ann.Until("event")
	col := ev["data"].(map[string]any)["column"].(map[string]any)
	colID, rev := col["id"].(string), col["rev"]

	// Both rename the column expecting the same rev: one commits, the other
	// is stale and gets the column as it is now.
	ann.Send(map[string]any{"type": "edit", "room": "schema:shop", "id": "e3", "op": map[string]any{
		"kind": "alter_column", "table": table, "column": colID, "name": "amount", "expect_rev": rev}})
	ben.Send(map[string]any{"type": "edit", "room": "schema:shop", "id": "e4", "op": map[string]any{
		"kind": "alter_column", "table": table, "column": colID, "name": "sum", "expect_rev": rev}})
	reply := func(c *testkit.Client) map[string]any {
		for {
			if m := c.Next(); m["type"] == "ack" || m["type"] == "reject" {
				return m
			}
		}
	}
	ra, rb := reply(ann), reply(ben)
	winner, loser, newName := ra, rb, "amount"
	if rb["type"] == "ack" {
		winner, loser, newName = rb, ra, "sum"
	}
	if winner["type"] != "ack" || loser["type"] != "reject" || loser["reason"] != "stale" {
		t.Fatalf("concurrent edits of one column answered %v and %v, want one ack and one stale", ra, rb)
	}
	if cur, _ := loser["current"].(map[string]any); cur == nil || cur["name"] != newName {
		t.Fatalf("stale reply carries %v, want the column named %s", loser["current"], newName)
	}
	a3 := winner

	// ben's socket drops after he sent an edit; he reconnects with since.
	held := a3["version"].(float64)
	ben.Send(map[string]any{"type": "edit", "room": "schema:shop", "id": "e5", "op": map[string]any{"kind": "move_table", "table": table, "x": 10, "y": 20}})
	ben.WS.CloseNow()
	moved := ann.Until("event")
	if moved["kind"] != "move_table" {
		t.Fatalf("ann saw %v", moved)
	}
	ben = testkit.Dial(t, h.url, "ben")
	ben.Send(map[string]any{"type": "join", "room": "schema:shop", "since": held})
	// Cursors and presence frames for the room may come first
	// (docs/protocol.md): skip them, but nothing else.
	notCursors := func(m map[string]any) bool { return m["type"] != "cursors" && m["type"] != "presence" }
	if j := ben.Await("the recovery join", notCursors); j["recovered"] != true || j["version"] != moved["version"] {
		t.Fatalf("recovery join %v, want version %v", j, moved["version"])
	}
	if e := ben.Await("the replayed event", notCursors); e["type"] != "event" || e["version"] != moved["version"] || e["kind"] != "move_table" {
		t.Fatalf("replayed %v", e)
	}
	// The resend of the dropped edit is acked with the version it had.
	if a := edit(ben, "e5", map[string]any{"kind": "move_table", "table": table, "x": 10, "y": 20}); a["version"] != moved["version"] {
		t.Fatalf("resent e5: %v, want version %v", a, moved["version"])
	}

	var audit []map[string]any
	getJSON(t, h.url+"/api/schemas/shop/audit", &audit)
	var kinds []string
	for _, e := range audit {
		kinds = append(kinds, e["kind"].(string))
	}
	if got := strings.Join(kinds, ","); got != "created,create_table,add_column,alter_column,move_table" {
		t.Fatalf("audit kinds %s", got)
	}
	var doc map[string]any
	getJSON(t, h.url+"/api/schemas/shop", &doc)
	if doc["version"] != moved["version"] {
		t.Fatalf("document version %v, want %v", doc["version"], moved["version"])
	}
	resp, err = http.Get(h.url + "/api/schemas/shop/ddl?dialect=postgres")
	if err != nil {
		t.Fatal(err)
	}
	ddl, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(ddl), `"orders"`) || !strings.Contains(string(ddl), `"`+newName+`" numeric(12,2)`) {
		t.Fatalf("ddl:\n%s", ddl)
	}
	for url, want := range map[string]int{
		"/api/schemas/nope":               http.StatusNotFound,
		"/api/schemas/shop/ddl?dialect=x": http.StatusBadRequest,
	} {
		var e map[string]any
		if code := getJSON(t, h.url+url, &e); code != want {
			t.Errorf("GET %s: %d %v, want %d", url, code, e, want)
		}
	}
}
