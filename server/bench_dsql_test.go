package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotrow/internal/clock"
	"hotrow/internal/dsqldouble"
	"hotrow/internal/testkit"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/server/bench"
	"hotrow/txn/pgstore"
)

// The hot room's commit rate on DSQL, before and after a bid took two
// round trips instead of five, with the network between hub and cluster
// stood in for by the DSQL double's delay per round trip (README, "Aurora
// DSQL"). For each mode of the store (one statement per round trip, as
// before; pipelined):
//
//   - the ceiling: the store's own bid transaction (the same statements in
//     the same round trips) run back to back on one connection through the
//     double, with no hub, sequencer, retry runner or socket;
//   - the hub: benchDSQLBidders sockets bidding in one auction on a hub on
//     the double, each waiting for its reply before its next bid;
//   - the ceiling without the delay: what the double, the PostgreSQL behind
//     it and the machine take for a transaction by themselves (on a
//     cluster, its own time per statement takes their place).
//
// The six are measured in slices of benchDSQLSlice, taken in turn for
// benchDSQLRounds rounds (each round in the reverse order of the one
// before), so that all of them share whatever else the machine is doing.
// It takes about a minute and measures wall time on whatever machine runs
// it: numbers, not pass or fail, so it runs only when asked (make
// bench-dsql sets HOTROW_BENCH_DSQL).
const (
	benchDSQLDelay   = 2 * time.Millisecond
	benchDSQLSlice   = time.Second
	benchDSQLRounds  = 6
	benchDSQLBidders = 8
)

// benchSeries is what the slices of one figure added up to.
type benchSeries struct {
	name    string
	delay   time.Duration
	run     func(time.Duration) int64 // one slice; returns the commits
	commits int64
	took    time.Duration
	trips   int64 // round trips on the double's wire
}

func (s *benchSeries) rate() float64 { return float64(s.commits) / s.took.Seconds() }

func (s *benchSeries) perCommit() float64 { return float64(s.trips) / float64(s.commits) }

func BenchmarkHotRoomOnTheDSQLDouble(b *testing.B) {
	if os.Getenv("HOTROW_BENCH_DSQL") == "" {
		b.Skip("a measurement of about a minute: run it with make bench-dsql (HOTROW_BENCH_DSQL=1)")
	}
	d := dsqldouble.New(b, dsqldouble.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var all []*benchSeries
	for i, mode := range []string{"before", "after"} {
		cfg := useDouble(b, d, "bench-"+mode)
		cfg.Migrate, cfg.DBPipeline = true, mode == "after"
		st, err := openStore(ctx, cfg, testLogger(b), clock.Real{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(st.Close)
		ceiling := newBenchCeiling(ctx, b, st.(*pgstore.Store), fmt.Sprintf("ceiling%d", i))
		hub := newBenchHub(ctx, b, startHub(b, st, "bench-"+mode), fmt.Sprintf("hub%d", i))
		all = append(all,
			&benchSeries{name: "ceiling " + mode, delay: benchDSQLDelay, run: ceiling.run},
			&benchSeries{name: "hub " + mode, delay: benchDSQLDelay, run: hub.run},
			&benchSeries{name: "ceiling " + mode + ", no delay", run: ceiling.run})
	}
	// Warm up every figure (statements prepared, rooms loaded), then measure.
	for _, s := range all {
		d.SetRoundTripDelay(s.delay)
		s.run(benchDSQLSlice / 4)
	}
	order := slices.Clone(all)
	for range benchDSQLRounds {
		for _, s := range order {
			d.SetRoundTripDelay(s.delay)
			rt0, start := d.RoundTrips(), time.Now()
			s.commits += s.run(benchDSQLSlice)
			s.took += time.Since(start)
			s.trips += d.RoundTrips() - rt0
		}
		slices.Reverse(order)
	}
	d.SetRoundTripDelay(0)
	var lines []string
	for _, s := range all {
		lines = append(lines, fmt.Sprintf("  %-28s %6.0f commits/s  %6.1f ms each  %.2f round trips each  (%d commits)",
			s.name, s.rate(), 1000/s.rate(), s.perCommit(), s.commits))
	}
	cb, hb, cbare, ca, ha, cabare := all[0], all[1], all[2], all[3], all[4], all[5]
	b.ReportMetric(cb.rate(), "ceiling-before-commits/s")
	b.ReportMetric(hb.rate(), "hub-before-commits/s")
	b.ReportMetric(ca.rate(), "ceiling-after-commits/s")
	b.ReportMetric(ha.rate(), "hub-after-commits/s")
	// Printed rather than logged, so that go test shows all of it.
	fmt.Printf("hot room on the DSQL double, %v a round trip, %d rounds of %v slices:\n%s\n"+
		"  hub after/before             %.2f\n"+
		"  ceiling after/before         %.2f\n"+
		"  hub/ceiling before           %.2f\n"+
		"  hub/ceiling after            %.2f\n"+
		"  no delay, after/before       %.2f\n"+
		"  a commit's time in round trips (ceiling less no delay): before %.1f ms, after %.1f ms, after/before %.2f\n",
		benchDSQLDelay, benchDSQLRounds, benchDSQLSlice, strings.Join(lines, "\n"),
		ha.rate()/hb.rate(), ca.rate()/cb.rate(), hb.rate()/cb.rate(), ha.rate()/ca.rate(), cabare.rate()/cbare.rate(),
		waitMS(cb, cbare), waitMS(ca, cabare), waitMS(ca, cabare)/waitMS(cb, cbare))
}

// waitMS is how much longer a commit took with the delay than without.
func waitMS(delayed, bare *benchSeries) float64 {
	return 1000/delayed.rate() - 1000/bare.rate()
}

// benchCeiling runs the store's bid transaction on one connection.
type benchCeiling struct {
	ctx context.Context
	b   *testing.B
	st  *pgstore.Store
	id  string
	n   int
}

func newBenchCeiling(ctx context.Context, b *testing.B, st *pgstore.Store, id string) *benchCeiling {
	b.Helper()
	if _, err := auction.NewService(st.Auctions(), rooms.Deps{}).Create(ctx, benchAuction(id), "bench"); err != nil {
		b.Fatal(err)
	}
	return &benchCeiling{ctx: ctx, b: b, st: st, id: id}
}

// run commits bids back to back for d.
func (c *benchCeiling) run(d time.Duration) int64 {
	var commits int64
	for end := time.Now().Add(d); time.Now().Before(end); commits++ {
		c.bid()
	}
	return commits
}

// bid is the engine's bid transaction without the engine (bench.RawBid).
func (c *benchCeiling) bid() {
	c.n++
	if err := bench.RawBid(c.ctx, c.st.Auctions(), c.id, "ceiling", fmt.Sprintf("c%d", c.n)); err != nil {
		c.b.Fatalf("ceiling bid %d: %v", c.n, err)
	}
}

// benchHub is benchDSQLBidders sockets bidding in one auction on a hub.
type benchHub struct {
	ctx    context.Context
	b      *testing.B
	room   string
	socks  []*websocket.Conn
	amount atomic.Int64 // the last amount handed out, in cents
	n      int
}

func newBenchHub(ctx context.Context, b *testing.B, h *testHub, id string) *benchHub {
	b.Helper()
	body, _ := json.Marshal(benchAuction(id))
	createAuction(b, h.url, string(body))
	bh := &benchHub{ctx: ctx, b: b, room: auction.Room(id)}
	bh.amount.Store(99)
	for i := range benchDSQLBidders {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ws, _, err := websocket.Dial(dctx, testkit.WSURL(h.url)+fmt.Sprintf("/ws?user=bidder%d", i), nil)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ws.CloseNow() })
		if _, _, err := ws.Read(ctx); err != nil { // welcome
			b.Fatal(err)
		}
		bh.socks = append(bh.socks, ws)
	}
	return bh
}

// run has every socket bid, waiting for each reply before its next bid,
// for d, and returns once every reply is in, with the acks.
func (h *benchHub) run(d time.Duration) int64 {
	h.n++
	var (
		acks atomic.Int64
		wg   sync.WaitGroup
		errs = make(chan error, len(h.socks))
		end  = time.Now().Add(d)
	)
	for i, ws := range h.socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; time.Now().Before(end); k++ {
				// Amounts rise with every bid handed out; one that arrives
				// after a higher one is rejected early, without the store.
				a := h.amount.Add(1)
				msg := fmt.Sprintf(`{"type":"bid","room":%q,"id":"b%d-%d-%d","amount":"%d.%02d"}`, h.room, i, h.n, k, a/100, a%100)
				if err := ws.Write(h.ctx, websocket.MessageText, []byte(msg)); err != nil {
					errs <- err
					return
				}
				if err := h.reply(ws, &acks); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		h.b.Fatal(err)
	default:
	}
	return acks.Load()
}

// reply reads frames until the reply to the socket's bid.
func (h *benchHub) reply(ws *websocket.Conn, acks *atomic.Int64) error {
	for {
		_, f, err := ws.Read(h.ctx)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(string(f), `{"type":"ack"`):
			acks.Add(1)
			return nil
		case strings.HasPrefix(string(f), `{"type":"reject"`) && strings.Contains(string(f), `"bid_too_low"`):
			return nil
		case strings.HasPrefix(string(f), `{"type":"reject"`):
			return fmt.Errorf("bid rejected: %s", f)
		}
	}
}

// benchAuction is an auction open for an hour that bids never extend.
func benchAuction(id string) auction.CreateRequest {
	hour, zero := 3600, 0
	return auction.CreateRequest{ID: id, Title: "Hot room", StartingPrice: "1.00", Increment: "0.01",
		DurationS: &hour, AntiSnipeWindowS: &zero, AntiSnipeExtendS: &zero}
}
