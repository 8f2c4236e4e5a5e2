package hub_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"hotrow/hub"
	"hotrow/hub/wire"
	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/rooms/cursors"
	"hotrow/txn"
	"hotrow/txn/memstore"
)

// startHub serves a hub over the embedded store with one live auction,
// auction:a1, and cursors on an in-memory cursor store.
func startHub(t *testing.T) string {
	t.Helper()
	clk := clock.Real{}
	store := memstore.New(clk)
	runner := &txn.Runner{Clock: clk}
	deps := rooms.Deps{Runner: runner, Clock: clk}
	reg := rooms.NewRegistry(rooms.MustKinds(auction.RoomKind(store.Auctions(), deps)), store, nil, rooms.Config{Clock: clk})
	if _, err := auction.NewService(store.Auctions(), deps).Create(t.Context(), auction.CreateRequest{
		ID: "a1", Title: "Lamp", StartingPrice: "10.00", Increment: "1.00"}, "seller"); err != nil {
		t.Fatal(err)
	}
	promReg := prometheus.NewRegistry()
	cur := cursors.New(cursors.NewMemStore(), promReg, cursors.Config{HubID: "test", Tick: 20 * time.Millisecond})
	h := hub.New(reg, promReg, hub.Config{HubID: "test", Cursors: cur})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.CloseAll(ctx)
		srv.Close()
		_ = reg.Drain(ctx)
		_ = cur.Close(ctx)
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func dial(t *testing.T, url, user string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url+"/ws?user="+user, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	c := &client{t: t, ws: ws}
	c.await("welcome", func(m map[string]any) bool { return m["type"] == "welcome" })
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// await reads frames until match accepts one (the timeout only bounds a
// failing test) and returns it.
func (c *client) await(what string, match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			c.t.Fatal(err)
		}
		if match(m) {
			return m
		}
	}
}

func (c *client) awaitCursors(what string, match func(wire.Cursors) bool) {
	c.t.Helper()
	c.await(what, func(m map[string]any) bool {
		if m["type"] != "cursors" {
			return false
		}
		b, _ := json.Marshal(m)
		var cs wire.Cursors
		if err := json.Unmarshal(b, &cs); err != nil {
			c.t.Fatal(err)
		}
		return match(cs)
	})
}

func errorCode(ref, code string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == "error" && m["ref"] == ref && m["code"] == code }
}

func TestCursorsOverSockets(t *testing.T) {
	url := startHub(t)
	const room = "auction:a1"
	alice := dial(t, url, "alice")
	bob := dial(t, url, "bob")

	// Refused cursors: not joined, too large, not an object.
	alice.send(map[string]any{"type": "cursor", "ref": "r1", "room": room, "pos": map[string]int{"x": 1}})
	alice.await("forbidden before join", errorCode("r1", wire.CodeForbidden))

	alice.send(map[string]any{"type": "join", "room": room})
	alice.await("alice joined", func(m map[string]any) bool { return m["type"] == "joined" })
	alice.send(map[string]any{"type": "cursor", "ref": "r2", "room": room, "pos": map[string]string{"s": strings.Repeat("x", 300)}})
	alice.await("too_large", errorCode("r2", wire.CodeTooLarge))
	alice.send(map[string]any{"type": "cursor", "ref": "r3", "room": room, "pos": []int{1}})
	alice.await("bad_request", errorCode("r3", wire.CodeBadRequest))

	bob.send(map[string]any{"type": "join", "room": room})
	bob.await("bob joined", func(m map[string]any) bool { return m["type"] == "joined" })
	alice.awaitCursors("alice to see bob arrive", func(c wire.Cursors) bool {
		return c.Room == room && slices.ContainsFunc(c.Cursors, func(x wire.Cursor) bool { return x.User == "bob" })
	})

	for i := range 20 {
		alice.send(map[string]any{"type": "cursor", "room": room, "pos": map[string]int{"x": i}})
	}
	bob.awaitCursors("bob to see alice's last position", func(c wire.Cursors) bool {
		return slices.ContainsFunc(c.Cursors, func(x wire.Cursor) bool { return x.User == "alice" && string(x.Pos) == `{"x":19}` })
	})

	// Bids are unaffected by cursors.
	bob.send(map[string]any{"type": "bid", "room": room, "id": "b1", "amount": "10.00"})
	bob.await("the bid's ack", func(m map[string]any) bool { return m["type"] == "ack" && m["id"] == "b1" })

	// A closed tab's cursor disappears.
	bob.ws.Close(websocket.StatusNormalClosure, "bye")
	alice.awaitCursors("bob gone", func(c wire.Cursors) bool { return slices.Equal(c.Gone, []string{"bob"}) })

	// Leaving stops the frames: a cursor after leave is refused.
	alice.send(map[string]any{"type": "leave", "room": room})
	alice.await("left", func(m map[string]any) bool { return m["type"] == "left" })
	alice.send(map[string]any{"type": "cursor", "ref": "r4", "room": room, "pos": map[string]int{"x": 1}})
	alice.await("forbidden after leave", errorCode("r4", wire.CodeForbidden))
}

func TestCursorsDisabled(t *testing.T) {
	clk := clock.Real{}
	store := memstore.New(clk)
	reg := rooms.NewRegistry(rooms.MustKinds(auction.RoomKind(store.Auctions(), rooms.Deps{Clock: clk})), store, nil, rooms.Config{})
	srv := httptest.NewServer(hub.New(reg, nil, hub.Config{}))
	t.Cleanup(srv.Close)
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), "alice")
	c.send(map[string]any{"type": "cursor", "ref": "r", "room": "auction:a1", "pos": map[string]int{"x": 1}})
	m := c.await("not enabled", errorCode("r", wire.CodeBadRequest))
	if !strings.Contains(m["message"].(string), "not enabled") {
		t.Fatalf("message = %v", m["message"])
	}
	c.ws.Close(websocket.StatusNormalClosure, "")
}
