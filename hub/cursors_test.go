package hub_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"hotrow/hub/wire"
	"hotrow/internal/testkit"
	"hotrow/rooms/auction"
)

// cursorHub serves a hub with cursors over the embedded store with one live
// auction, auction:a1.
func cursorHub(t *testing.T) string {
	t.Helper()
	w := testkit.NewWorld(t, nil)
	w.Auction(auction.CreateRequest{ID: "a1", Title: "Lamp", StartingPrice: "10.00", Increment: "1.00"})
	return w.StartHub(testkit.HubOptions{Cursors: true}).URL
}

func awaitCursors(t *testing.T, c *testkit.Client, what string, match func(wire.Cursors) bool) {
	t.Helper()
	c.Await(what, func(m map[string]any) bool {
		if m["type"] != "cursors" {
			return false
		}
		b, _ := json.Marshal(m)
		var cs wire.Cursors
		if err := json.Unmarshal(b, &cs); err != nil {
			t.Fatal(err)
		}
		return match(cs)
	})
}

func TestCursorsOverSockets(t *testing.T) {
	url := cursorHub(t)
	const room = "auction:a1"
	alice := testkit.Dial(t, url, "alice")
	bob := testkit.Dial(t, url, "bob")

	// Refused cursors: not joined, too large, not an object.
	alice.Send(map[string]any{"type": "cursor", "ref": "r1", "room": room, "pos": map[string]int{"x": 1}})
	alice.Await("forbidden before join", testkit.ErrorCode("r1", wire.CodeForbidden))

	alice.Send(map[string]any{"type": "join", "room": room})
	alice.Await("alice joined", func(m map[string]any) bool { return m["type"] == "joined" })
	alice.Send(map[string]any{"type": "cursor", "ref": "r2", "room": room, "pos": map[string]string{"s": strings.Repeat("x", 300)}})
	alice.Await("too_large", testkit.ErrorCode("r2", wire.CodeTooLarge))
	alice.Send(map[string]any{"type": "cursor", "ref": "r3", "room": room, "pos": []int{1}})
	alice.Await("bad_request", testkit.ErrorCode("r3", wire.CodeBadRequest))

	bob.Send(map[string]any{"type": "join", "room": room})
	bob.Await("bob joined", func(m map[string]any) bool { return m["type"] == "joined" })
	awaitCursors(t, alice, "alice to see bob arrive", func(c wire.Cursors) bool {
		return c.Room == room && slices.ContainsFunc(c.Cursors, func(x wire.Cursor) bool { return x.User == "bob" })
	})

	for i := range 20 {
		alice.Send(map[string]any{"type": "cursor", "room": room, "pos": map[string]int{"x": i}})
	}
	awaitCursors(t, bob, "bob to see alice's last position", func(c wire.Cursors) bool {
		return slices.ContainsFunc(c.Cursors, func(x wire.Cursor) bool { return x.User == "alice" && string(x.Pos) == `{"x":19}` })
	})

	// Bids are unaffected by cursors.
	bob.Send(map[string]any{"type": "bid", "room": room, "id": "b1", "amount": "10.00"})
	bob.Await("the bid's ack", func(m map[string]any) bool { return m["type"] == "ack" && m["id"] == "b1" })

	// A closed tab's cursor disappears.
	bob.WS.Close(websocket.StatusNormalClosure, "bye")
	awaitCursors(t, alice, "bob gone", func(c wire.Cursors) bool { return slices.Equal(c.Gone, []string{"bob"}) })

	// Leaving stops the frames: a cursor after leave is refused.
	alice.Send(map[string]any{"type": "leave", "room": room})
	alice.Await("left", func(m map[string]any) bool { return m["type"] == "left" })
	alice.Send(map[string]any{"type": "cursor", "ref": "r4", "room": room, "pos": map[string]int{"x": 1}})
	alice.Await("forbidden after leave", testkit.ErrorCode("r4", wire.CodeForbidden))
}

func TestCursorsDisabled(t *testing.T) {
	h := testkit.NewWorld(t, nil).StartHub(testkit.HubOptions{})
	c := testkit.Dial(t, h.URL, "alice")
	c.Send(map[string]any{"type": "cursor", "ref": "r", "room": "auction:a1", "pos": map[string]int{"x": 1}})
	m := c.Await("not enabled", testkit.ErrorCode("r", wire.CodeBadRequest))
	if !strings.Contains(m["message"].(string), "not enabled") {
		t.Fatalf("message = %v", m["message"])
	}
	c.WS.Close(websocket.StatusNormalClosure, "")
}

// A joiner's first presence comes right behind its joined frame, in the
// same write: for a socket that asked for batches, one batch frame holding
// joined and then the count (the joiner counted); for one that did not, the
// two frames in that order. A client that ignores presence for a room it
// is not in yet loses nothing.
func TestJoinedAndFirstPresenceTogether(t *testing.T) {
	base := cursorHub(t)
	batched := testkit.DialURL(t, testkit.WSURL(base)+"/ws?user=ann&batch=1", nil)
	batched.Until("welcome")
	batched.Send(map[string]any{"type": "join", "room": "auction:a1"})
	first := batched.Next()
	frames := unbatch(first)
	if first["type"] != "batch" || len(frames) < 2 {
		t.Fatalf("after join: %v, want one batch of joined and presence", first)
	}
	if frames[0]["type"] != "joined" {
		t.Fatalf("batch %v: joined is not first", first)
	}
	if p := frames[len(frames)-1]; p["type"] != "presence" || p["count"] != float64(1) || p["room"] != "auction:a1" {
		t.Fatalf("batch %v: the last frame is not the joiner's count of 1", first)
	}

	plain := testkit.Dial(t, base, "bob")
	plain.Send(map[string]any{"type": "join", "room": "auction:a1"})
	if j := plain.Next(); j["type"] != "joined" {
		t.Fatalf("first frame after join: %v, want joined", j)
	}
	plain.Await("bob's first count", func(m map[string]any) bool {
		if m["type"] == "presence" && m["count"] != float64(2) {
			t.Fatalf("bob's first count: %v, want 2 (ann and bob)", m)
		}
		return m["type"] == "presence"
	})
}
