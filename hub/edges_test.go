package hub_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotrow/hub"
	"hotrow/hub/wire"
	"hotrow/internal/clock"
	"hotrow/internal/testkit"
	"hotrow/rooms/auction"
)

// edgeHub serves a hub with cfg on a fake clock, with the live auction
// auction:a1; the clock does not move unless the test moves it.
func edgeHub(t *testing.T, cfg hub.Config) (string, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Now())
	w := testkit.NewWorld(t, clk)
	w.Auction(auction.CreateRequest{ID: "a1", Title: "Lamp", StartingPrice: "10.00", Increment: "1.00"})
	return w.StartHub(testkit.HubOptions{Hub: cfg}).URL, clk
}

func sendBinary(t *testing.T, c *testkit.Client, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WS.Write(ctx, websocket.MessageBinary, b); err != nil {
		t.Fatal(err)
	}
}

// Binary frames count against the socket's message rate like text frames:
// a client cannot flood the hub with them.
func TestBinaryFramesCountAgainstTheRate(t *testing.T) {
	url, clk := edgeHub(t, hub.Config{RateLimit: 1, RateBurst: 3})
	c := testkit.Dial(t, url, "alice")
	for range 3 {
		sendBinary(t, c, []byte("\x00\x01"))
		c.Await("the binary frame's error", errorWithoutRef(wire.CodeBadRequest))
	}
	c.Send(map[string]any{"type": "ping", "ref": "p1"})
	c.Await("rate_limited for the ping, with its ref", testkit.ErrorCode("p1", wire.CodeRateLimited))
	sendBinary(t, c, []byte("x"))
	c.Await("rate_limited for a binary frame", errorWithoutRef(wire.CodeRateLimited))
	clk.Advance(time.Second)
	c.Send(map[string]any{"type": "ping", "ref": "p2"})
	c.Await("a pong once the rate allows", testkit.Reply("pong", "p2"))
}

// A text frame that is not valid UTF-8 breaks RFC 6455: the socket is
// closed with 1007.
// The close frame must not be lost to the read loop ending first (the
// fuzzer found that race): the test closes many sockets this way.
func TestInvalidUTF8ClosesWith1007(t *testing.T) {
	url, _ := edgeHub(t, hub.Config{})
	for i := range 30 {
		c := testkit.Dial(t, url, "alice")
		c.Send([]byte("{\"type\":\"ping\",\"ref\":\"\xff\"}"))
		if code := c.CloseCode(); code != websocket.StatusInvalidFramePayloadData {
			t.Fatalf("socket %d: close code %v, want 1007", i, code)
		}
	}
}

// ref and id are limited to 64 characters, not bytes.
func TestLengthsAreCharacters(t *testing.T) {
	url, _ := edgeHub(t, hub.Config{})
	c := testkit.Dial(t, url, "alice")
	ref64 := strings.Repeat("é", 64)
	c.Send(map[string]any{"type": "ping", "ref": ref64})
	c.Await("a pong for a ref of 64 two-byte characters", testkit.Reply("pong", ref64))
	c.Send(map[string]any{"type": "ping", "ref": ref64 + "é"})
	c.Await("65 characters refused", errorWithoutRef(wire.CodeBadRequest))

	id64 := strings.Repeat("ü", 64)
	c.Send(map[string]any{"type": "bid", "ref": "b1", "room": "auction:a1", "id": id64, "amount": "10.00"})
	c.Await("an ack for an id of 64 two-byte characters", testkit.Reply("ack", "b1"))
	c.Send(map[string]any{"type": "bid", "ref": "b2", "room": "auction:a1", "id": id64 + "ü", "amount": "11.00"})
	c.Await("an id of 65 characters refused", testkit.ErrorCode("b2", wire.CodeBadRequest))
}

// Control characters never reach a store: an id holding one is refused
// before the room sees it.
func TestControlCharactersInIDsRefused(t *testing.T) {
	url, _ := edgeHub(t, hub.Config{})
	c := testkit.Dial(t, url, "alice")
	for i, id := range []string{"a\x00b", "tab\there", "del\x7f", "c1\u0085"} {
		ref := string(rune('a' + i))
		c.Send(map[string]any{"type": "bid", "ref": ref, "room": "auction:a1", "id": id, "amount": "10.00"})
		m := c.Await("the reply to id "+id, func(m map[string]any) bool { return m["ref"] == ref })
		if m["type"] != "error" || m["code"] != wire.CodeBadRequest {
			t.Errorf("id %q: %v, want error bad_request", id, m)
		}
	}
}

// An error for a frame with a wrongly typed field still carries its ref.
func TestWronglyTypedFieldKeepsTheRef(t *testing.T) {
	url, _ := edgeHub(t, hub.Config{})
	c := testkit.Dial(t, url, "alice")
	for _, f := range []string{
		`{"type":"join","room":"auction:a1","since":"3","ref":"r1"}`,
		`{"type":"bid","room":"auction:a1","id":7,"amount":"10.00","ref":"r1"}`,
		`{"type":["join"],"ref":"r1"}`,
	} {
		c.Send([]byte(f))
		m := c.Next()
		if m["type"] != "error" || m["code"] != wire.CodeBadRequest || m["ref"] != "r1" {
			t.Errorf("%s: %v, want error bad_request with ref r1", f, m)
		}
	}
}

// errorWithoutRef matches an error frame with code and no ref.
func errorWithoutRef(code string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		_, hasRef := m["ref"]
		return m["type"] == "error" && m["code"] == code && !hasRef
	}
}

// A join the room refuses (it does not exist) does not count as joined:
// it takes no place under the socket's room cap, and the socket may not
// send cursors to it.
func TestRefusedJoinsDoNotCount(t *testing.T) {
	w := testkit.NewWorld(t, nil)
	w.Auction(auction.CreateRequest{ID: "a1", Title: "Lamp", StartingPrice: "10.00", Increment: "1.00"})
	url := w.StartHub(testkit.HubOptions{Cursors: true, Hub: hub.Config{MaxRoomsPerConn: 4}}).URL
	c := testkit.Dial(t, url, "alice")
	for i := range 6 {
		ref := fmt.Sprint("j", i)
		c.Send(map[string]any{"type": "join", "ref": ref, "room": fmt.Sprint("auction:ghost", i)})
		c.Await("not_found for a room that does not exist", testkit.ErrorCode(ref, wire.CodeNotFound))
	}
	c.Send(map[string]any{"type": "cursor", "ref": "cur", "room": "auction:ghost0", "pos": map[string]int{"x": 1}})
	c.Await("a cursor in a room never joined is forbidden", testkit.ErrorCode("cur", wire.CodeForbidden))
	c.Send(map[string]any{"type": "join", "ref": "real", "room": "auction:a1"})
	c.Await("the real room joined", testkit.Reply("joined", "real"))
	c.Send(map[string]any{"type": "cursor", "ref": "cur2", "room": "auction:a1", "pos": map[string]int{"x": 1}})
	c.Await("its own cursor in the cursors frame", func(m map[string]any) bool {
		if m["type"] == "error" {
			t.Fatalf("cursor refused in a joined room: %v", m)
		}
		return m["type"] == "cursors" && strings.Contains(fmt.Sprint(m["cursors"]), "x:1")
	})
}
