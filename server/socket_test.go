package main

import (
	"context"
	"hotrow/internal/testkit"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Bad input over a real socket gets a clear error and the socket stays
// open; a frame over the read limit closes only that socket with 1009; other
// clients are unaffected.
func TestBadInputOverSocket(t *testing.T) {
	h := memHub(t)
	createAuction(t, h.url, `{"id":"lamp","title":"Lamp","starting_price":"10.00","increment":"1.00"}`)
	bystander := testkit.Dial(t, h.url, "bob")
	bystander.Send(map[string]any{"type": "join", "room": "auction:lamp"})
	bystander.Until("joined")

	c := testkit.Dial(t, h.url, "mallory")
	cases := []struct {
		name  string
		frame string
		want  map[string]any
	}{
		{"invalid JSON", `{"type":`, map[string]any{"type": "error", "code": "bad_request"}},
		{"not an object", `[1,2]`, map[string]any{"type": "error", "code": "bad_request"}},
		{"no type", `{"room":"auction:lamp"}`, map[string]any{"type": "error", "code": "bad_request"}},
		{"unknown type", `{"type":"teleport","ref":"x1"}`, map[string]any{"type": "error", "code": "bad_request", "ref": "x1"}},
		{"join without room", `{"type":"join"}`, map[string]any{"type": "error", "code": "bad_request"}},
		{"malformed room", `{"type":"join","room":"lamp"}`, map[string]any{"type": "error", "code": "bad_request"}},
		{"unknown kind", `{"type":"join","room":"chess:1"}`, map[string]any{"type": "error", "code": "bad_request"}},
		{"unknown room", `{"type":"join","room":"auction:nope","ref":"j"}`, map[string]any{"type": "error", "code": "not_found", "ref": "j"}},
		{"bid to unknown room", `{"type":"bid","room":"auction:nope","id":"1","amount":"10.00"}`, map[string]any{"type": "reject", "reason": "not_found", "id": "1"}},
		{"bid without id", `{"type":"bid","room":"auction:lamp","amount":"10.00"}`, map[string]any{"type": "error", "code": "bad_request"}},
		{"bid with a long id", `{"type":"bid","room":"auction:lamp","id":"` + strings.Repeat("x", 65) + `","amount":"10.00"}`, map[string]any{"type": "error", "code": "bad_request"}},
		{"negative amount", `{"type":"bid","room":"auction:lamp","id":"a1","amount":"-10.00"}`, map[string]any{"type": "reject", "reason": "invalid_amount"}},
		{"three decimals", `{"type":"bid","room":"auction:lamp","id":"a2","amount":"10.001"}`, map[string]any{"type": "reject", "reason": "invalid_amount"}},
		{"exponent", `{"type":"bid","room":"auction:lamp","id":"a3","amount":"1e3"}`, map[string]any{"type": "reject", "reason": "invalid_amount"}},
		{"NaN", `{"type":"bid","room":"auction:lamp","id":"a4","amount":"NaN"}`, map[string]any{"type": "reject", "reason": "invalid_amount"}},
		{"a JSON number", `{"type":"bid","room":"auction:lamp","id":"a5","amount":10}`, map[string]any{"type": "reject", "reason": "invalid_amount"}},
		{"over the maximum", `{"type":"bid","room":"auction:lamp","id":"a6","amount":"1000000000.01"}`, map[string]any{"type": "reject", "reason": "invalid_amount"}},
		{"missing amount", `{"type":"bid","room":"auction:lamp","id":"a7"}`, map[string]any{"type": "reject", "reason": "invalid_amount"}},
		{"too low", `{"type":"bid","room":"auction:lamp","id":"a8","amount":"9.99"}`, map[string]any{"type": "reject", "reason": "bid_too_low", "min": "10.00"}},
		{"edit to an auction", `{"type":"edit","room":"auction:lamp","id":"e1","op":{}}`, map[string]any{"type": "error", "code": "bad_request"}},
		{"ref too long", `{"type":"ping","ref":"` + strings.Repeat("r", 65) + `"}`, map[string]any{"type": "error", "code": "bad_request"}},
		{"negative since", `{"type":"join","room":"auction:lamp","since":-1}`, map[string]any{"type": "error", "code": "bad_request"}},
		{"ping", `{"type":"ping","ref":"p"}`, map[string]any{"type": "pong", "ref": "p"}},
	}
	for _, tc := range cases {
		c.Send([]byte(tc.frame))
		got := c.Next()
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: got %v, want %s=%v", tc.name, got, k, v)
			}
		}
		if got["type"] == "error" || got["type"] == "reject" {
			if msg, _ := got["message"].(string); msg == "" {
				t.Errorf("%s: %v has no message", tc.name, got)
			}
		}
	}
	// The socket is still open and bids still work.
	c.Send(map[string]any{"type": "bid", "room": "auction:lamp", "id": "ok1", "amount": "10.00"})
	if ack := c.Until("ack"); ack["version"] != float64(2) {
		t.Fatalf("ack = %v", ack)
	}
	if ev := bystander.Until("event"); ev["version"] != float64(2) {
		t.Fatalf("bystander event = %v", ev)
	}

	// A frame over the read limit (16 KiB) closes that socket with 1009.
	c.Send([]byte(`{"type":"ping","ref":"` + strings.Repeat("z", 20<<10) + `"}`))
	if code := c.CloseCode(); code != websocket.StatusMessageTooBig {
		t.Fatalf("close code %v, want 1009", code)
	}
	// The bystander is unaffected.
	bystander.Send(map[string]any{"type": "ping", "ref": "still-here"})
	if p := bystander.Until("pong"); p["ref"] != "still-here" {
		t.Fatalf("bystander got %v", p)
	}
}

// A bad ?user= is refused before the upgrade with a JSON error.
func TestBadUserRefused(t *testing.T) {
	h := memHub(t)
	resp, err := http.Get(h.url + "/ws?user=" + strings.Repeat("x", 65))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}

// Two clients see each other's bids live; a late joiner with since gets the
// missed events; the HTTP API validates its input.
func TestLiveBiddingAndRecovery(t *testing.T) {
	h := memHub(t)
	createAuction(t, h.url, `{"id":"vase","title":"Vase","starting_price":"5.00","increment":"0.50"}`)
	alice, bob := testkit.Dial(t, h.url, "alice"), testkit.Dial(t, h.url, "bob")
	for _, c := range []*testkit.Client{alice, bob} {
		c.Send(map[string]any{"type": "join", "room": "auction:vase"})
		if j := c.Until("joined"); j["version"] != float64(1) {
			t.Fatalf("joined = %v", j)
		}
	}
	alice.Send(map[string]any{"type": "bid", "room": "auction:vase", "id": "a1", "amount": "5.00"})
	alice.Until("ack")
	bob.Send(map[string]any{"type": "bid", "room": "auction:vase", "id": "b1", "amount": "5.50"})
	bob.Until("ack")
	for _, c := range []*testkit.Client{alice, bob} {
		for len(c.Events()) < 2 {
			c.Next()
		}
		evs := c.Events()
		if len(evs) != 2 || evs[0]["version"] != float64(2) || evs[1]["version"] != float64(3) {
			t.Fatalf("events %v", evs)
		}
		st := evs[1]["state"].(map[string]any)
		if st["current_bid"] != "5.50" || st["leader"] != "bob" || st["min_next_bid"] != "6.00" {
			t.Fatalf("state after two bids: %v", st)
		}
	}
	// carol held version 2 and reconnects with since.
	carol := testkit.Dial(t, h.url, "carol")
	carol.Send(map[string]any{"type": "join", "room": "auction:vase", "since": 2, "ref": "rj"})
	j := carol.Next()
	if j["type"] != "joined" || j["recovered"] != true || j["version"] != float64(3) || j["ref"] != "rj" {
		t.Fatalf("recovery join = %v", j)
	}
	if e := carol.Next(); e["type"] != "event" || e["version"] != float64(3) {
		t.Fatalf("replayed %v", e)
	}
	carol.Send(map[string]any{"type": "leave", "room": "auction:vase", "ref": "l"})
	if l := carol.Until("left"); l["ref"] != "l" {
		t.Fatalf("left = %v", l)
	}

	for _, bad := range []struct{ body, field string }{
		{`{"title":"","starting_price":"1.00","increment":"1.00"}`, "title"},
		{`{"title":"x","starting_price":"1.001","increment":"1.00"}`, "starting_price"},
		{`{"title":"x","starting_price":"1.00","increment":"0"}`, "increment"},
		{`{"title":"x","starting_price":"1.00","increment":"1.00","duration_s":-5}`, "duration_s"},
		{`{"title":"x","starting_price":"1.00","increment":"1.00","id":"bad id"}`, "id"},
		{`{"title":"x","starting_price":"1.00","increment":"1.00","colour":"red"}`, "colour"},
		{`not json`, "JSON"},
	} {
		resp, err := http.Post(h.url+"/api/auctions", "application/json", strings.NewReader(bad.body))
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		decodeJSON(t, resp, &e)
		if resp.StatusCode != http.StatusBadRequest || e.Error.Code != "bad_request" || !strings.Contains(e.Error.Message, bad.field) {
			t.Errorf("POST %s: %d %+v, want 400 naming %s", bad.body, resp.StatusCode, e, bad.field)
		}
	}
	resp, _ := http.Post(h.url+"/api/auctions", "application/json", strings.NewReader(`{"id":"vase","title":"Again","starting_price":"1.00","increment":"1.00"}`))
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("duplicate id: %d, want 409", resp.StatusCode)
	}
	var e map[string]any
	if code := getJSON(t, h.url+"/api/auctions/nope", &e); code != http.StatusNotFound {
		t.Errorf("unknown auction: %d %v", code, e)
	}
	var list []map[string]any
	getJSON(t, h.url+"/api/auctions", &list)
	if len(list) != 1 || list[0]["id"] != "vase" {
		t.Errorf("list = %v", list)
	}
}

// SIGTERM's drain: readiness goes false, sockets close with 1012 after what
// was queued for them, and new sockets are refused.
func TestGracefulShutdown(t *testing.T) {
	h := memHub(t)
	createAuction(t, h.url, `{"id":"clock","title":"Clock","starting_price":"1.00","increment":"1.00"}`)
	c := testkit.Dial(t, h.url, "alice")
	c.Send(map[string]any{"type": "join", "room": "auction:clock"})
	c.Until("joined")
	var ready map[string]any
	if code := getJSON(t, h.url+"/readyz", &ready); code != http.StatusOK {
		t.Fatalf("readyz before drain: %d %v", code, ready)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.app.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code := c.CloseCode(); code != websocket.StatusServiceRestart {
		t.Fatalf("close code %v, want 1012", code)
	}
	if code := getJSON(t, h.url+"/readyz", &ready); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz after drain: %d", code)
	}
	resp, err := http.Get(h.url + "/ws?user=late")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("new socket during drain: %d, want 503", resp.StatusCode)
	}
}

func decodeJSON(t testing.TB, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	_ = jsonNewDecoder(resp).Decode(v)
}
