package main

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"hotrow/internal/testnats"
	"hotrow/internal/testpg"
	"hotrow/server/loadtest"
)

// The fleet tests run three hubs as processes of their own on one
// PostgreSQL with NATS between them, as a deployment would. Their size is
// set by the environment so that `make test` runs them small and `make
// loadtest-fleet` at full size:
//
//	HOTROW_FLEET_BIDDERS        bidders over the three hubs (default 300)
//	HOTROW_FLEET_AUCTION_FOR    how long the auction runs (default 15s)
//	HOTROW_FLEET_OPEN_FOR       time to open the sockets before it starts (default 10s)
//	HOTROW_FLEET_LATENCY_BIDS   bids measured by the latency probe (default 100)

func envOr[T any](t *testing.T, name string, def T, parse func(string) (T, error)) T {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return x
}

// fleet starts three hubs on the database at dsn; with ns they share the
// bus, without it they only poll (the default 250ms). Every bidder of the
// load test dials from this one address, so the per-address socket rate
// and cap are off, as behind a proxy that spreads real clients' addresses.
func fleet(t *testing.T, dsn string, ns *testnats.Server, prefix string) []*childHub {
	t.Helper()
	natsURL := ""
	if ns != nil {
		natsURL = ns.URL()
	}
	var hubs []*childHub
	for _, id := range []string{"a", "b", "c"} {
		hubs = append(hubs, startChildHub(t, prefix+"-"+id, "DATABASE_URL="+dsn, "NATS_URL="+natsURL,
			"HOTROW_WS_CONN_RATE=0", "HOTROW_MAX_CONNS_PER_ADDR=0", "HOTROW_HTTP_RATE=0", "HOTROW_HTTP_WRITE_RATE=0"))
	}
	return hubs
}

func urls(hubs []*childHub) []string {
	var out []string
	for _, h := range hubs {
		out = append(out, h.url)
	}
	return out
}

// Three hubs on one PostgreSQL with NATS, bidders spread over them, and
// faults during the bidding: NATS stopped and started again, then one hub
// killed with SIGKILL, its clients re-joining the others with since. Every
// invariant holds: no acknowledged bid lost, no gap and no repeat in any
// client's history, one winner at the top price on every surviving hub.
func TestFleetThreeHubsNATSFaults(t *testing.T) {
	bidders := envOr(t, "HOTROW_FLEET_BIDDERS", 300, strconv.Atoi)
	auctionFor := envOr(t, "HOTROW_FLEET_AUCTION_FOR", 15*time.Second, time.ParseDuration)
	openFor := envOr(t, "HOTROW_FLEET_OPEN_FOR", 10*time.Second, time.ParseDuration)
	dsn := testpg.DSN(t)
	pgStore(t, dsn) // migrated once, before the hubs start
	ns := testnats.Start(t, nil)
	hubs := fleet(t, dsn, ns, "fleet")
	victim := hubs[2]

	frac := func(f float64) time.Duration { return time.Duration(f * float64(auctionFor)) }
	faults := []loadtest.Fault{
		{Name: "NATS stopped", After: frac(0.15), Do: ns.Stop},
		{Name: "NATS started again", After: frac(0.25), Do: ns.Restart},
		{Name: "hub " + victim.id + " killed (SIGKILL)", After: frac(0.4), Do: victim.kill},
	}
	var progress logWriter
	progress.t = t
	ctx, cancel := context.WithTimeout(context.Background(), openFor+auctionFor+4*time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, loadtest.Config{URLs: urls(hubs), Bidders: bidders, BidsPerBidder: 2,
		AuctionFor: auctionFor, OpenFor: openFor, Timeout: openFor + auctionFor + 3*time.Minute,
		Progress: &progress, Seed: 12, Reconnect: true, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(&progress)
	for _, c := range rep.Failed() {
		t.Errorf("invariant violated: %s: %s", c.Name, c.Detail)
	}
	if len(rep.HubsDown) != 1 || rep.HubsDown[0] != victim.url {
		t.Errorf("hubs down at the end: %v, want only the killed %s", rep.HubsDown, victim.url)
	}
	if want := bidders / 3; rep.Rejoins < want {
		t.Errorf("%d re-joins, want at least %d (every socket of the killed hub)", rep.Rejoins, want)
	}
	if rep.Accepted < 2 {
		t.Fatalf("only %d bids accepted: the test proves nothing", rep.Accepted)
	}
	for _, h := range hubs[:2] {
		bus := h.metric(t, "hotrow_events_delivered_total", "source", "bus")
		log := h.metric(t, "hotrow_events_delivered_total", "source", "log")
		own := h.metric(t, "hotrow_events_delivered_total", "source", "commit")
		t.Logf("hub %s delivered %v own commits, %v from the bus, %v from the log; reconnected to NATS %v times; %v gap fills",
			h.id, own, bus, log, h.metric(t, "hotrow_bus_reconnects_total"), h.metric(t, "hotrow_bus_gap_fills_total"))
		// How much came from the bus depends on timing: in a room this hot a
		// hub's own next commit often finds the gap first and reads it from
		// the log. TestFleetLatencyNATSVersusPolling checks that the bus
		// carries events.
		if h.metric(t, "hotrow_bus_reconnects_total") < 1 {
			t.Errorf("hub %s never reconnected to NATS after its restart", h.id)
		}
	}
}

// Cross-hub latency, with NATS and with polling only, in one run: a bidder
// on hub A, watchers on hubs A, B and C; from each bid's send to each
// watcher's receipt. The figures are logged (README, "Many hubs"); the
// test checks what does not depend on the machine's speed: every watcher
// got every event, and with NATS the other hubs got them from the bus.
func TestFleetLatencyNATSVersusPolling(t *testing.T) {
	bids := envOr(t, "HOTROW_FLEET_LATENCY_BIDS", 100, strconv.Atoi)
	ns := testnats.Start(t, nil)
	results := map[string]*loadtest.LatencyReport{}
	for _, mode := range []string{"nats", "polling"} {
		dsn := testpg.DSN(t)
		pgStore(t, dsn)
		var bus *testnats.Server
		if mode == "nats" {
			bus = ns
		}
		hubs := fleet(t, dsn, bus, mode)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		rep, err := loadtest.Latency(ctx, loadtest.LatencyConfig{URLs: urls(hubs), Bids: bids, Timeout: 2 * time.Minute})
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		results[mode] = rep
		if rep.Missing != 0 {
			t.Errorf("%s: %d events never reached their watcher", mode, rep.Missing)
		}
		if mode == "nats" {
			for _, h := range hubs[1:] {
				if n := h.metric(t, "hotrow_events_delivered_total", "source", "bus"); n < float64(bids) {
					t.Errorf("hub %s delivered %v events from the bus, want at least %d", h.id, n, bids)
				}
			}
		}
		for _, h := range hubs {
			h.stop()
		}
	}
	n, p := results["nats"], results["polling"]
	t.Logf("cross-hub latency, %d bids, watchers on the bidder's hub and on two others (machine: %d CPUs, shared)", bids, numCPU())
	t.Logf("| set-up | same hub p50 | same hub p99 | cross hub p50 | cross hub p99 |")
	t.Logf("|---|---|---|---|---|")
	for _, mode := range []string{"nats", "polling"} {
		r := results[mode]
		t.Logf("| %s | %s | %s | %s | %s |", mode, fmtMS(r.SameHub.P50), fmtMS(r.SameHub.P99), fmtMS(r.CrossHub.P50), fmtMS(r.CrossHub.P99))
	}
	if n.CrossHub.P99 > 0 && n.SameHub.P99 > 0 {
		t.Logf("cross-hub p99: polling/NATS = %.1fx; NATS cross-hub/same-hub = %.2fx (goal: within 2x)",
			float64(p.CrossHub.P99)/float64(n.CrossHub.P99), float64(n.CrossHub.P99)/float64(n.SameHub.P99))
	}
}

func fmtMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}
