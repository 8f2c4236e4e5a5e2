package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"hotrow/hub"
	"hotrow/hub/wire"
	"hotrow/internal/clock"
	"hotrow/internal/testkit"
	"hotrow/rooms/auction"
)

const secret = "s3cret"

// tokenHub serves a hub that requires tokens, on a fake clock, with the
// live auctions a1 and a2 and the schema documents shop and other.
func tokenHub(t *testing.T) (string, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Now())
	w := testkit.NewWorld(t, clk)
	for _, id := range []string{"a1", "a2"} {
		w.Auction(auction.CreateRequest{ID: id, Title: "Lamp", StartingPrice: "10.00", Increment: "1.00"})
	}
	w.Schema("shop", "Shop")
	w.Schema("other", "Other")
	return w.StartHub(testkit.HubOptions{Hub: hub.Config{TokenSecret: []byte(secret)}, Cursors: true}).URL, clk
}

func token(t *testing.T, clk clock.Clock, sub string, ttl time.Duration, rights any) string {
	t.Helper()
	claims := jwt.MapClaims{"sub": sub, "exp": clk.Now().Add(ttl).Unix()}
	if rights != nil {
		claims["rights"] = rights
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dialToken(t *testing.T, url, tok string) *testkit.Client {
	t.Helper()
	c := testkit.DialURL(t, testkit.WSURL(url)+"/ws?token="+tok, nil)
	if w := c.Next(); w["type"] != "welcome" {
		t.Fatalf("first frame %v", w)
	}
	return c
}

func reply(c *testkit.Client, ref string) map[string]any {
	return c.Await("the reply to "+ref, func(m map[string]any) bool { return m["ref"] == ref })
}

// Tokens carry rights over room-name patterns: a watcher cannot bid, an
// editor of schema:shop cannot edit schema:other, nobody joins what they
// may not watch; a token without rights gets the defaults.
func TestRightsOverSockets(t *testing.T) {
	url, clk := tokenHub(t)
	watcher := dialToken(t, url, token(t, clk, "wanda", time.Hour, map[string]any{"watch": []string{"auction:a1"}}))
	watcher.Send(map[string]any{"type": "join", "ref": "j1", "room": "auction:a1"})
	if m := reply(watcher, "j1"); m["type"] != "joined" {
		t.Fatalf("join of a watched room: %v", m)
	}
	watcher.Send(map[string]any{"type": "join", "ref": "j2", "room": "auction:a2"})
	if m := reply(watcher, "j2"); m["type"] != "error" || m["code"] != wire.CodeForbidden {
		t.Fatalf("join of a room not watched: %v", m)
	}
	watcher.Send(map[string]any{"type": "bid", "ref": "b1", "room": "auction:a1", "id": "w1", "amount": "10.00"})
	if m := reply(watcher, "b1"); m["type"] != "reject" || m["reason"] != "forbidden" || m["id"] != "w1" {
		t.Fatalf("a watcher's bid: %v", m)
	}

	editor := dialToken(t, url, token(t, clk, "ed", time.Hour, map[string]any{"watch": []string{"schema:*"}, "edit": []string{"schema:shop"}}))
	op := map[string]any{"kind": "create_table", "name": "t"}
	editor.Send(map[string]any{"type": "edit", "ref": "e1", "room": "schema:other", "id": "x1", "op": op})
	if m := reply(editor, "e1"); m["type"] != "reject" || m["reason"] != "forbidden" {
		t.Fatalf("edit of schema:other by an editor of schema:shop: %v", m)
	}
	editor.Send(map[string]any{"type": "edit", "ref": "e2", "room": "schema:shop", "id": "x2", "op": op})
	if m := reply(editor, "e2"); m["type"] != "ack" {
		t.Fatalf("edit of schema:shop by its editor: %v", m)
	}

	anyone := dialToken(t, url, token(t, clk, "dee", time.Hour, nil))
	anyone.Send(map[string]any{"type": "join", "ref": "j", "room": "auction:a2"})
	reply(anyone, "j")
	anyone.Send(map[string]any{"type": "bid", "ref": "b", "room": "auction:a2", "id": "d1", "amount": "10.00"})
	if m := reply(anyone, "b"); m["type"] != "ack" {
		t.Fatalf("a bid with the default rights: %v", m)
	}

	// A malformed rights claim makes the token invalid.
	resp, err := http.Get(url + "/ws?token=" + token(t, clk, "eve", time.Hour, map[string]any{"watch": []string{"a*b"}}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a token with a malformed pattern: %d, want 401", resp.StatusCode)
	}
}

// A socket does not outlive its token: when it expires the client is told
// (token_expired) and the socket closes with 4001; a message sent after the
// expiry is not acted on.
func TestSocketClosesWhenItsTokenExpires(t *testing.T) {
	url, clk := tokenHub(t)
	c := dialToken(t, url, token(t, clk, "bob", 8*time.Second, nil))
	c.Send(map[string]any{"type": "ping", "ref": "p"})
	reply(c, "p")
	clk.Advance(16 * time.Second)
	c.Await("token_expired", func(m map[string]any) bool { return m["type"] == "error" && m["code"] == wire.CodeTokenExpired })
	if code := c.CloseCode(); code != wire.CloseTokenExpired {
		t.Fatalf("close code %v, want 4001", code)
	}
}

// A bid sent after the token expired is refused, whether the socket's timer
// or the check each message gets sees the expiry first.
func TestNoMessageAfterTheTokenExpired(t *testing.T) {
	url, clk := tokenHub(t)
	c := dialToken(t, url, token(t, clk, "bob", 8*time.Second, nil))
	clk.Set(clk.Now().Add(16 * time.Second))
	c.Send(map[string]any{"type": "bid", "ref": "late", "room": "auction:a1", "id": "l1", "amount": "10.00"})
	m := c.Next()
	if m["type"] != "error" || m["code"] != wire.CodeTokenExpired {
		t.Fatalf("a bid after the token expired: %v", m)
	}
	if code := c.CloseCode(); code != websocket.StatusCode(wire.CloseTokenExpired) {
		t.Fatalf("close code %v, want 4001", code)
	}
}

// A token renewed in-band (refresh, same user) keeps the socket open past
// the old expiry; a refresh for another user or with a bad token changes
// nothing; rooms the new rights do not cover are left.
func TestRefreshRenewsTheToken(t *testing.T) {
	url, clk := tokenHub(t)
	c := dialToken(t, url, token(t, clk, "bob", 10*time.Second, nil))
	c.Send(map[string]any{"type": "join", "ref": "j1", "room": "auction:a1"})
	reply(c, "j1")
	c.Send(map[string]any{"type": "join", "ref": "j2", "room": "auction:a2"})
	reply(c, "j2")

	c.Send(map[string]any{"type": "refresh", "ref": "r0", "token": token(t, clk, "mallory", time.Hour, nil)})
	if m := reply(c, "r0"); m["type"] != "error" || m["code"] != wire.CodeForbidden {
		t.Fatalf("refresh for another user: %v", m)
	}
	c.Send(map[string]any{"type": "refresh", "ref": "r1", "token": "garbage"})
	if m := reply(c, "r1"); m["type"] != "error" || m["code"] != wire.CodeUnauthorized {
		t.Fatalf("refresh with a bad token: %v", m)
	}
	fresh := token(t, clk, "bob", time.Hour, map[string]any{"watch": []string{"auction:a1"}, "bid": []string{"auction:*"}})
	c.Send(map[string]any{"type": "refresh", "ref": "r2", "token": fresh})
	m := reply(c, "r2")
	exp, err := time.Parse(time.RFC3339, m["exp"].(string))
	if m["type"] != "refreshed" || err != nil || exp.Before(clk.Now().Add(50*time.Minute)) {
		t.Fatalf("refresh: %v (%v)", m, err)
	}
	c.Await("left for the room no longer watched", func(m map[string]any) bool {
		return m["type"] == "left" && m["room"] == "auction:a2"
	})
	clk.Advance(30 * time.Second)
	c.Send(map[string]any{"type": "bid", "ref": "b", "room": "auction:a1", "id": "b1", "amount": "10.00"})
	if m := reply(c, "b"); m["type"] != "ack" {
		t.Fatalf("a bid past the old expiry, after the refresh: %v", m)
	}
}

// Names the system uses are not for users.
func TestReservedNames(t *testing.T) {
	w := testkit.NewWorld(t, nil)
	dev := w.StartHub(testkit.HubOptions{}).URL
	resp, err := http.Get(dev + "/ws?user=http")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("development user http: %d, want 400", resp.StatusCode)
	}
	url, clk := tokenHub(t)
	resp, err = http.Get(url + "/ws?token=" + token(t, clk, "http", time.Hour, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a token for user http: %d, want 401", resp.StatusCode)
	}
}
