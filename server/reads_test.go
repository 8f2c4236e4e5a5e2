package main

import (
	"testing"
	"time"

	"hotrow/internal/clock"
	"hotrow/rooms/cursors"
	"hotrow/txn/memstore"
)

// Reading an auction over HTTP costs no room worker when the store can
// answer: only an auction past its end, which must be closed first, goes
// through its room.
func TestReadsStartNoRoomWorker(t *testing.T) {
	clk := clock.NewFake(time.Now())
	a, err := newApp(testConfig("reads"), memstore.New(clk), cursors.NewMemStore(), testLogger(t), clk)
	if err != nil {
		t.Fatal(err)
	}
	h := serveApp(t, a)
	createAuction(t, h.url, `{"id":"lamp","title":"Lamp","starting_price":"10.00","increment":"1.00","duration_s":60}`)
	for range 20 {
		var st map[string]any
		if code := getJSON(t, h.url+"/api/auctions/lamp", &st); code != 200 || st["status"] != "live" {
			t.Fatalf("GET: %d %v", code, st)
		}
		var e map[string]any
		if code := getJSON(t, h.url+"/api/auctions/nope", &e); code != 404 {
			t.Fatalf("GET of a missing auction: %d %v", code, e)
		}
	}
	if n := a.rooms.Live(); n != 0 {
		t.Fatalf("%d room workers after reads the store could answer", n)
	}
	// Past its end, a read closes the auction first: never shown open.
	clk.Advance(2 * time.Minute)
	var st map[string]any
	if code := getJSON(t, h.url+"/api/auctions/lamp", &st); code != 200 || st["status"] != "ended" {
		t.Fatalf("GET after the end: %d %v", code, st)
	}
	var bids []any
	getJSON(t, h.url+"/api/auctions/lamp/bids", &bids)
	var again map[string]any
	getJSON(t, h.url+"/api/auctions/lamp", &again)
	if again["status"] != "ended" {
		t.Fatalf("GET after the close: %v", again)
	}
}
