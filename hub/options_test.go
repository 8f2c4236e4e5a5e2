package hub_test

import (
	"fmt"
	"net/http"
	"testing"

	"hotrow/hub"
	"hotrow/internal/testkit"
	"hotrow/rooms/auction"
)

// event_state=0 gets auction events without state; a socket without the
// option gets them whole; both see the same versions and data.
func TestEventStateOptOut(t *testing.T) {
	w := testkit.NewWorld(t, nil)
	h := w.StartHub(testkit.HubOptions{Hub: hub.Config{HubID: "opts"}})
	w.Auction(auction.CreateRequest{ID: "lamp", Title: "Lamp", StartingPrice: "1.00", Increment: "1.00"})
	lean := testkit.DialURL(t, testkit.WSURL(h.URL)+"/ws?user=lean&event_state=0", nil)
	lean.Until("welcome")
	full := testkit.Dial(t, h.URL, "full")
	for _, c := range []*testkit.Client{lean, full} {
		c.Send(map[string]any{"type": "join", "room": "auction:lamp"})
		if j := c.Until("joined"); j["state"] == nil {
			t.Fatalf("joined %v: the opt-out is for events, joined keeps its state", j)
		}
	}
	full.Send(map[string]any{"type": "bid", "room": "auction:lamp", "id": "b1", "amount": "1.00"})
	fe, le := full.Until("event"), lean.Until("event")
	if fe["state"] == nil {
		t.Fatalf("default event %v has no state", fe)
	}
	if _, has := le["state"]; has {
		t.Fatalf("event_state=0 event %v carries state", le)
	}
	if le["version"] != fe["version"] || le["data"].(map[string]any)["amount"] != "1.00" {
		t.Fatalf("lean event %v differs from %v", le, fe)
	}
	// Recovery replays in the socket's form too.
	lean.Send(map[string]any{"type": "join", "room": "auction:lamp", "since": 1})
	lean.Until("joined")
	if e := lean.Until("event"); e["state"] != nil {
		t.Fatalf("replayed event %v carries state", e)
	}
}

// A bad option is refused before the upgrade.
func TestBadOptionRefused(t *testing.T) {
	w := testkit.NewWorld(t, nil)
	h := w.StartHub(testkit.HubOptions{Hub: hub.Config{HubID: "opts"}})
	for _, q := range []string{"batch=yes", "event_state=2"} {
		resp, err := http.Get(h.URL + "/ws?user=a&" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
		}
	}
}

// A socket that asked for batches gets every event, in order, once,
// whether they came one by one or batched.
func TestBatchedSocketGetsEveryEvent(t *testing.T) {
	w := testkit.NewWorld(t, nil)
	h := w.StartHub(testkit.HubOptions{Hub: hub.Config{HubID: "opts", RateLimit: 1000, RateBurst: 1000}})
	w.Auction(auction.CreateRequest{ID: "lamp", Title: "Lamp", StartingPrice: "1.00", Increment: "0.01"})
	b := testkit.DialURL(t, testkit.WSURL(h.URL)+"/ws?user=b&batch=1", nil)
	b.Until("welcome")
	b.Send(map[string]any{"type": "join", "room": "auction:lamp"})
	b.Until("joined")
	const bids = 50
	sendRisingBids(testkit.Dial(t, h.URL, "bidder"), "auction:lamp", bids)
	expectEvents(t, b, "", bids)
}

// sendRisingBids sends n bids, each a cent above the last, from 1.00.
func sendRisingBids(bidder *testkit.Client, room string, n int) {
	for i := range n {
		amount := 100 + i
		bidder.Send(map[string]any{"type": "bid", "room": room, "id": fmt.Sprint("b", i),
			"amount": fmt.Sprintf("%d.%02d", amount/100, amount%100)})
	}
}

// expectEvents reads c until it has the n events of those bids, versions 2
// to n+1, each once and in order, batched or not.
func expectEvents(t *testing.T, c *testkit.Client, who string, n int) {
	t.Helper()
	for next := 2.0; next < float64(2+n); {
		for _, f := range unbatch(c.Next()) {
			if f["type"] != "event" {
				continue
			}
			if f["version"] != next {
				t.Fatalf("%sevent version %v, want %v", who, f["version"], next)
			}
			next++
		}
	}
}

func unbatch(m map[string]any) []map[string]any {
	if m["type"] != "batch" {
		return []map[string]any{m}
	}
	var out []map[string]any
	for _, f := range m["frames"].([]any) {
		out = append(out, f.(map[string]any))
	}
	return out
}

// However many writer goroutines share the sockets, each socket gets every
// event of its room in order, once: a socket is on the ready list at most
// once, so two writers never write it at the same time.
func TestEverySocketGetsEveryEventWhateverTheWriters(t *testing.T) {
	for _, writers := range []int{1, 4} {
		t.Run(fmt.Sprint(writers, " writers"), func(t *testing.T) {
			w := testkit.NewWorld(t, nil)
			h := w.StartHub(testkit.HubOptions{Hub: hub.Config{HubID: "writers", Writers: writers, RateLimit: 1000, RateBurst: 1000}})
			w.Auction(auction.CreateRequest{ID: "lamp", Title: "Lamp", StartingPrice: "1.00", Increment: "0.01"})
			var watchers []*testkit.Client
			for i := range 16 {
				q := ""
				if i%2 == 0 {
					q = "&batch=1"
				}
				c := testkit.DialURL(t, testkit.WSURL(h.URL)+fmt.Sprintf("/ws?user=w%d%s", i, q), nil)
				c.Until("welcome")
				c.Send(map[string]any{"type": "join", "room": "auction:lamp"})
				c.Until("joined")
				watchers = append(watchers, c)
			}
			const bids = 40
			sendRisingBids(testkit.Dial(t, h.URL, "bidder"), "auction:lamp", bids)
			for i, c := range watchers {
				expectEvents(t, c, fmt.Sprintf("watcher %d: ", i), bids)
			}
		})
	}
}
