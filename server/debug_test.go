package main

import (
	"fmt"
	"net/http"
	"testing"

	"hotrow/internal/testkit"
)

// /debug/rooms names the room that takes the transactions, which no metric
// label may: two auctions, one busy; the busy one comes first with its
// attempts and its subscribers.
func TestHotRooms(t *testing.T) {
	h := memHub(t)
	createAuction(t, h.url, `{"id":"busy","title":"Busy","starting_price":"1.00","increment":"1.00"}`)
	createAuction(t, h.url, `{"id":"calm","title":"Calm","starting_price":"1.00","increment":"1.00"}`)
	ann, bob := testkit.Dial(t, h.url, "ann"), testkit.Dial(t, h.url, "bob")
	for _, c := range []*testkit.Client{ann, bob} {
		c.Send(map[string]any{"type": "join", "room": "auction:busy", "ref": "j"})
		c.Await("joined", testkit.Reply("joined", "j"))
	}
	for i := range 5 {
		ref := fmt.Sprint("b", i)
		ann.Send(map[string]any{"type": "bid", "room": "auction:busy", "id": ref, "ref": ref, "amount": fmt.Sprintf("%d.00", i+1)})
		ann.Await("ack", testkit.Reply("ack", ref))
	}
	bob.Send(map[string]any{"type": "bid", "room": "auction:calm", "id": "c1", "ref": "c1", "amount": "1.00"})
	bob.Await("ack", testkit.Reply("ack", "c1"))

	var got struct {
		WindowS int    `json:"window_s"`
		By      string `json:"by"`
		Rooms   []struct {
			Room                             string
			Kind                             string
			Attempts, Conflicts, Subscribers int
		}
	}
	if code := getJSON(t, h.url+"/debug/rooms", &got); code != http.StatusOK {
		t.Fatalf("GET /debug/rooms: %d", code)
	}
	if got.WindowS != 60 || got.By != "attempts" || len(got.Rooms) != 2 {
		t.Fatalf("got %+v, want both rooms over 60 s by attempts", got)
	}
	busy, calm := got.Rooms[0], got.Rooms[1]
	if busy.Room != "auction:busy" || busy.Kind != "auction" || busy.Attempts != 5 || busy.Conflicts != 0 || busy.Subscribers != 2 {
		t.Errorf("first %+v, want auction:busy with 5 attempts and 2 subscribers", busy)
	}
	if calm.Room != "auction:calm" || calm.Attempts != 1 || calm.Subscribers != 0 {
		t.Errorf("second %+v, want auction:calm with 1 attempt and no subscriber", calm)
	}
	if code := getJSON(t, h.url+"/debug/rooms?by=subscribers&limit=1", &got); code != http.StatusOK || len(got.Rooms) != 1 || got.Rooms[0].Room != "auction:busy" {
		t.Errorf("by subscribers, limit 1: %d %+v", code, got)
	}
	var bad map[string]any
	if code := getJSON(t, h.url+"/debug/rooms?by=price", &bad); code != http.StatusBadRequest {
		t.Errorf("by=price: %d, want 400", code)
	}
}
