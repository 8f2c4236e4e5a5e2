package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
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
	"hotrow/txn/pgstore"
)

// The hot room's commit rate on DSQL, before and after a bid took two
// round trips instead of five, with the network between hub and cluster
// stood in for by the DSQL double's delay per round trip (README, "Aurora
// DSQL"). For each mode of the store (one statement per round trip, as
// before; pipelined), two figures from one run:
//
//   - the ceiling: the store's own bid transaction (the same statements in
//     the same round trips) run back to back on one connection through the
//     double, with no hub, sequencer, retry runner or socket;
//   - the hub: benchDSQLBidders sockets bidding in one auction on a hub on
//     the double, each waiting for its reply before its next bid, acks
//     counted over benchDSQLWindow after a warm-up;
//
// and the ceiling again without the delay, which is what the double, the
// PostgreSQL behind it and the machine take for a transaction by
// themselves (on a cluster, its own time per statement stands in their
// place).
//
// It takes about a minute, and measures wall time on whatever machine runs it: numbers, not pass or
// fail, so it runs only when asked (make bench-dsql sets HOTROW_BENCH_DSQL).
const (
	benchDSQLDelay   = 2 * time.Millisecond
	benchDSQLWindow  = 5 * time.Second
	benchDSQLWarmUp  = time.Second
	benchDSQLBidders = 8
)

func BenchmarkHotRoomOnTheDSQLDouble(b *testing.B) {
	if os.Getenv("HOTROW_BENCH_DSQL") == "" {
		b.Skip("a measurement of about a minute: run it with make bench-dsql (HOTROW_BENCH_DSQL=1)")
	}
	d := dsqldouble.New(b, dsqldouble.Options{})
	type figures struct {
		ceiling, hub, bare float64 // commits a second; bare: the ceiling without the delay
		rtCeil, rtHub      float64 // round trips on the wire per commit
		commitsCeiling     int64
		commitsHub         int64
	}
	modes := []struct {
		name     string
		pipeline bool
		f        figures
	}{{name: "before (one statement per round trip)"}, {name: "after (two pipelines)", pipeline: true}}
	for i := range modes {
		m := &modes[i]
		cfg := useDouble(b, d, "bench")
		cfg.Migrate, cfg.DBPipeline = true, m.pipeline
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		st, err := openStore(ctx, cfg, testLogger(b), clock.Real{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(st.Close)
		pg := st.(*pgstore.Store)

		m.f.bare, _, _ = benchCeiling(ctx, b, d, pg, fmt.Sprintf("bare%d", i), 0)
		m.f.ceiling, m.f.rtCeil, m.f.commitsCeiling = benchCeiling(ctx, b, d, pg, fmt.Sprintf("ceiling%d", i), benchDSQLDelay)
		h := startHub(b, st, "bench")
		m.f.hub, m.f.rtHub, m.f.commitsHub = benchHub(ctx, b, d, h, fmt.Sprintf("hub%d", i))
		cancel()
		b.Logf("%s: ceiling %.0f commits/s (%d, %.2f round trips each), hub %.0f commits/s (%d, %.2f round trips each); "+
			"without the delay the ceiling is %.0f commits/s (%.1f ms a transaction)",
			m.name, m.f.ceiling, m.f.commitsCeiling, m.f.rtCeil, m.f.hub, m.f.commitsHub, m.f.rtHub, m.f.bare, 1000/m.f.bare)
	}
	before, after := modes[0].f, modes[1].f
	b.ReportMetric(before.ceiling, "ceiling-before-commits/s")
	b.ReportMetric(before.hub, "hub-before-commits/s")
	b.ReportMetric(after.ceiling, "ceiling-after-commits/s")
	b.ReportMetric(after.hub, "hub-after-commits/s")
	b.Logf("with %v per round trip, one run:\n"+
		"  hub after/before            %.2f\n"+
		"  ceiling after/before        %.2f\n"+
		"  hub/ceiling before          %.2f\n"+
		"  hub/ceiling after           %.2f\n"+
		"  hub after / ceiling before  %.2f",
		benchDSQLDelay, after.hub/before.hub, after.ceiling/before.ceiling,
		before.hub/before.ceiling, after.hub/after.ceiling, after.hub/before.ceiling)
}

// benchCeiling runs the store's bid transaction in a loop on one
// connection, delay per round trip, and returns the commits a second, the
// round trips on the double's wire per commit, and the commits counted.
func benchCeiling(ctx context.Context, b *testing.B, d *dsqldouble.Double, st *pgstore.Store, id string, delay time.Duration) (float64, float64, int64) {
	b.Helper()
	if _, err := auction.NewService(st.Auctions(), rooms.Deps{}).Create(ctx, benchAuction(id), "bench"); err != nil {
		b.Fatal(err)
	}
	room := auction.Room(id)
	n := 0
	bid := func() {
		n++
		msg := fmt.Sprintf("c%d", n)
		err := st.Auctions().Attempt(ctx, id, rooms.Key{Room: room, User: "ceiling", ID: msg}, func(tx auction.Tx) error {
			if _, found := tx.Applied(); found {
				return nil
			}
			a, v, err := tx.Load()
			if err != nil {
				return err
			}
			now := tx.Now()
			na, rej := a.PlaceBid(a.MinNextBid(), "ceiling", now)
			if rej != nil {
				return rej
			}
			data, _ := json.Marshal(auction.BidData{Amount: na.CurrentBid, Bidder: "ceiling", EndsAt: na.EndsAt, ID: msg})
			state, _ := json.Marshal(na.StateAt(now))
			ev := rooms.Event{Room: room, Version: v + 1, Kind: auction.KindBid, By: "ceiling", At: now, Data: data, State: state}
			return tx.SaveBid(ctx, na, auction.Bid{AuctionID: id, Version: v + 1, Amount: na.CurrentBid, Bidder: "ceiling", At: now, MsgID: msg},
				ev, rooms.Applied{Version: v + 1, Attempts: 1})
		})
		if err != nil {
			b.Fatalf("ceiling bid %d: %v", n, err)
		}
	}
	d.SetRoundTripDelay(delay)
	defer d.SetRoundTripDelay(0)
	for warm := time.Now().Add(benchDSQLWarmUp); time.Now().Before(warm); {
		bid()
	}
	start, rt0 := time.Now(), d.RoundTrips()
	var commits int64
	for end := start.Add(benchDSQLWindow); time.Now().Before(end); commits++ {
		bid()
	}
	took := time.Since(start)
	return float64(commits) / took.Seconds(), float64(d.RoundTrips()-rt0) / float64(commits), commits
}

// benchHub has benchDSQLBidders sockets bid in one auction on h and
// returns the acks a second after the warm-up, the round trips on the
// double's wire per ack, and the acks counted.
func benchHub(ctx context.Context, b *testing.B, d *dsqldouble.Double, h *testHub, id string) (float64, float64, int64) {
	b.Helper()
	body, _ := json.Marshal(benchAuction(id))
	createAuction(b, h.url, string(body))
	room := auction.Room(id)
	var (
		amount  atomic.Int64 // the last amount handed out, in cents
		acks    atomic.Int64 // acks since counting began
		counted atomic.Bool
		wg      sync.WaitGroup
		errs    = make(chan error, benchDSQLBidders)
		stop    = make(chan struct{})
	)
	amount.Store(99)
	socks := make([]*websocket.Conn, benchDSQLBidders)
	for i := range socks {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ws, _, err := websocket.Dial(dctx, testkit.WSURL(h.url)+fmt.Sprintf("/ws?user=bidder%d", i), nil)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		defer ws.CloseNow()
		if _, _, err := ws.Read(ctx); err != nil { // welcome
			b.Fatal(err)
		}
		socks[i] = ws
	}
	d.SetRoundTripDelay(benchDSQLDelay)
	defer d.SetRoundTripDelay(0)
	for i, ws := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				// Amounts rise with every bid handed out; one that arrives
				// after a higher one is rejected early, without the store.
				a := amount.Add(1)
				msg := fmt.Sprintf(`{"type":"bid","room":%q,"id":"b%d-%d","amount":"%d.%02d"}`, room, i, n, a/100, a%100)
				if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					errs <- err
					return
				}
				for {
					_, f, err := ws.Read(ctx)
					if err != nil {
						errs <- err
						return
					}
					if strings.HasPrefix(string(f), `{"type":"ack"`) {
						if counted.Load() {
							acks.Add(1)
						}
						break
					}
					if strings.HasPrefix(string(f), `{"type":"reject"`) {
						if !strings.Contains(string(f), `"bid_too_low"`) {
							errs <- fmt.Errorf("bid rejected: %s", f)
							return
						}
						break
					}
				}
			}
		}()
	}
	time.Sleep(benchDSQLWarmUp)
	start, rt0 := time.Now(), d.RoundTrips()
	counted.Store(true)
	time.Sleep(benchDSQLWindow)
	counted.Store(false)
	took, rts, n := time.Since(start), d.RoundTrips()-rt0, acks.Load()
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return float64(n) / took.Seconds(), float64(rts) / float64(n), n
}

// benchAuction is an auction open for an hour that bids never extend.
func benchAuction(id string) auction.CreateRequest {
	hour, zero := 3600, 0
	return auction.CreateRequest{ID: id, Title: "Hot room", StartingPrice: "1.00", Increment: "0.01",
		DurationS: &hour, AntiSnipeWindowS: &zero, AntiSnipeExtendS: &zero}
}
