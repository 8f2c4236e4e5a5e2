package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotrow/internal/clock"
	"hotrow/internal/testkit"
	"hotrow/internal/testnats"
	"hotrow/rooms/cursors"
	"hotrow/txn/memstore"
)

// natsHub is a hub on st with the bus on ns; it polls every 50ms while the
// bus is down and, while it is up, not for an hour: what reaches it then
// came on the bus.
func natsHub(t *testing.T, st store, ns *testnats.Server, id string) *testHub {
	return startHubWith(t, st, cursors.NewMemStore(), id, func(c *config) {
		c.NATS.URL = ns.URL()
		c.BusPollInterval = time.Hour
	})
}

func readyBus(t *testing.T, h *testHub) (int, string) {
	t.Helper()
	var body map[string]string
	code := getJSON(t, h.url+"/readyz", &body)
	return code, body["bus"]
}

// Two hubs on one store: hub B's subscribers get hub A's commits from the
// bus; with NATS stopped they get them by polling, and /readyz says so but
// stays ready; with NATS back, from the bus again.
func TestTwoHubsOverNATS(t *testing.T) {
	ns := testnats.Start(t, nil)
	st := memstore.New(clock.Real{})
	a, b := natsHub(t, st, ns, "a"), natsHub(t, st, ns, "b")
	waitUntil(t, "both hubs on the bus", func() bool { return a.app.bus.Up() && b.app.bus.Up() })
	if code, bus := readyBus(t, b); code != http.StatusOK || !strings.HasPrefix(bus, "nats: connected to nats://127.0.0.1:") {
		t.Fatalf("readyz %d bus %q", code, bus)
	}
	createAuction(t, a.url, `{"id":"x","title":"X","starting_price":"1.00","increment":"1.00"}`)
	watcher := testkit.Dial(t, b.url, "watcher")
	watcher.Send(map[string]any{"type": "join", "room": "auction:x"})
	watcher.Until("joined")
	bidder := testkit.Dial(t, a.url, "bidder")
	amount := 0
	bidAndSee := func(ref string) {
		t.Helper()
		amount++
		bidder.Send(map[string]any{"type": "bid", "room": "auction:x", "id": ref, "amount": fmt.Sprintf("%d.00", amount), "ref": ref})
		if ack := bidder.Await("ack "+ref, testkit.Reply("ack", ref)); ack["version"] == nil {
			t.Fatalf("ack %v", ack)
		}
		watcher.Await("the event of "+ref, func(m map[string]any) bool {
			return m["type"] == "event" && m["version"] == float64(amount+1)
		})
	}
	bidAndSee("b1")
	bidAndSee("b2")
	if n := metricValue(t, b.app, "hotrow_events_delivered_total", map[string]string{"source": "bus"}); n != 2 {
		t.Fatalf("B delivered %v events from the bus, want 2", n)
	}

	ns.Stop()
	waitUntil(t, "the hubs to notice", func() bool { return !a.app.bus.Up() && !b.app.bus.Up() })
	if code, bus := readyBus(t, b); code != http.StatusOK || !strings.Contains(bus, "polling every 50ms") {
		t.Fatalf("readyz while NATS is down: %d bus %q", code, bus)
	}
	logBefore := metricValue(t, b.app, "hotrow_events_delivered_total", map[string]string{"source": "log"})
	bidAndSee("b3")
	if n := metricValue(t, b.app, "hotrow_events_delivered_total", map[string]string{"source": "log"}); n <= logBefore {
		t.Fatal("with NATS down, v4 reached B without polling")
	}

	ns.Restart()
	waitUntil(t, "both hubs back on the bus", func() bool { return a.app.bus.Up() && b.app.bus.Up() })
	busBefore := metricValue(t, b.app, "hotrow_events_delivered_total", map[string]string{"source": "bus"})
	// The subscription is restored asynchronously: bid until one arrives
	// from the bus (the slow poll is an hour away).
	waitUntil(t, "an event from the bus after the restart", func() bool {
		bidAndSee(fmt.Sprint("r", amount))
		return metricValue(t, b.app, "hotrow_events_delivered_total", map[string]string{"source": "bus"}) > busBefore
	})
	evs := watcher.Events()
	for i, ev := range evs {
		if ev["version"] != float64(i+2) {
			t.Fatalf("watcher's event %d is version %v: not gapless from 2", i, ev["version"])
		}
	}
}

// Cursors travel between hubs on the bus at the tick rate. Each hub has its
// own cursor store here, and polls it once an hour: only the bus can carry
// a move from one hub to the other.
func TestCursorsAcrossHubsOverNATS(t *testing.T) {
	ns := testnats.Start(t, nil)
	st := memstore.New(clock.Real{})
	hub := func(id string) *testHub {
		return startHubWith(t, st, cursors.NewMemStore(), id, func(c *config) {
			c.NATS.URL = ns.URL()
			c.CursorPollInterval = time.Hour
			c.CursorTick = 50 * time.Millisecond
		})
	}
	a, b := hub("a"), hub("b")
	resp, err := http.Post(a.url+"/api/schemas", "application/json", strings.NewReader(`{"id":"doc","name":"Doc"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ann, ben := testkit.Dial(t, a.url, "ann"), testkit.Dial(t, b.url, "ben")
	for _, c := range []*testkit.Client{ann, ben} {
		c.Send(map[string]any{"type": "join", "room": "schema:doc"})
		c.Until("joined")
	}
	// Ben learns of Ann from the bus: she joined on the other hub.
	ben.Await("ann present", func(m map[string]any) bool { return hasCursor(m, "ann", nil) })
	seen := map[float64]bool{}
	for x := 1; x <= 10; x++ {
		ann.Send(map[string]any{"type": "cursor", "room": "schema:doc", "pos": map[string]any{"x": x}})
		time.Sleep(60 * time.Millisecond)
	}
	ben.Await("ann's last position", func(m map[string]any) bool {
		return hasCursor(m, "ann", func(pos map[string]any) bool {
			if x, ok := pos["x"].(float64); ok {
				seen[x] = true
			}
			return pos["x"] == float64(10)
		})
	})
	if len(seen) < 2 {
		t.Fatalf("ben saw ann's cursor at %v only", seen)
	}
	if n := metricValue(t, b.app, "hotrow_cursor_bus_batches_total", map[string]string{"direction": "received"}); n < 2 {
		t.Fatalf("B received %v batches", n)
	}
	// Ann leaves: Ben sees her gone without any store read.
	ann.Send(map[string]any{"type": "leave", "room": "schema:doc"})
	ben.Await("ann gone", func(m map[string]any) bool {
		if m["type"] != "cursors" {
			return false
		}
		gone, _ := m["gone"].([]any)
		for _, u := range gone {
			if u == "ann" {
				return true
			}
		}
		return false
	})
}

// hasCursor matches a cursors frame listing user, whose pos satisfies
// posOK (nil: any).
func hasCursor(m map[string]any, user string, posOK func(map[string]any) bool) bool {
	if m["type"] != "cursors" {
		return false
	}
	cs, _ := m["cursors"].([]any)
	for _, c := range cs {
		c, _ := c.(map[string]any)
		if c["user"] != user {
			continue
		}
		if posOK == nil {
			return true
		}
		pos, _ := c["pos"].(map[string]any)
		if pos != nil && posOK(pos) {
			return true
		}
	}
	return false
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
