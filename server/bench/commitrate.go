package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotrow/internal/testpg"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn/pgstore"
)

// commitResult is the hot room's commit rate on PostgreSQL.
type commitResult struct {
	err    error
	hub    float64 // bids committed a second through the hub (sockets, sequencer, retry runner)
	raw    float64 // the same bid transactions run straight on one connection
	hubN   int64
	rawN   int64
	window time.Duration
}

// runCommitRate measures, on one throw-away PostgreSQL, the bids a hub
// commits a second in one hot auction, and the ceiling: the same
// statements (pgstore's bid transaction: idempotency lookup, auction and
// clock read, then the room version, event, auction, bid and idempotency
// writes) run back to back on one connection without a hub.
func runCommitRate(ctx context.Context, cfg Config) *commitResult {
	res := &commitResult{window: cfg.CommitFor}
	pg, err := testpg.Start(cfg.PGBin)
	if err != nil {
		res.err = err
		return res
	}
	defer pg.Stop()
	cfg.logf("postgres: started")
	if res.raw, res.rawN, err = rawCeiling(ctx, cfg, pg); err != nil {
		res.err = fmt.Errorf("raw SQL: %w", err)
		return res
	}
	cfg.logf("postgres: raw SQL %.0f bids/s", res.raw)
	if res.hub, res.hubN, err = hubRate(ctx, cfg, pg); err != nil {
		res.err = fmt.Errorf("hub: %w", err)
		return res
	}
	cfg.logf("postgres: hub %.0f bids/s", res.hub)
	return res
}

// hubRate runs a hub on PostgreSQL and has cfg.Bidders sockets bid in one
// auction, each waiting for its reply before the next bid, for
// cfg.CommitFor; it counts the acks.
func hubRate(ctx context.Context, cfg Config, pg *testpg.Standalone) (float64, int64, error) {
	dsn, err := pg.CreateDB(ctx, "bench_hub")
	if err != nil {
		return 0, 0, err
	}
	// No message rate per socket: it is for the internet, and 32 bidders
	// on loopback each bid faster than its default (100 a second) once
	// the hub commits more than 3,200 bids a second.
	h := &hotrowTarget{bin: cfg.Hotrow, env: []string{"DATABASE_URL=" + dsn, "HOTROW_MIGRATE=true", "HOTROW_WS_MSG_RATE=0"}}
	srv, err := h.start(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer srv.stop()
	room, err := h.room(ctx, "hot")
	if err != nil {
		return 0, 0, err
	}
	d := &dialer{}
	var (
		amount atomic.Int64 // the last amount handed out, in cents
		acks   atomic.Int64
		wg     sync.WaitGroup
	)
	amount.Store(99)
	ctx, cancel := context.WithTimeout(ctx, cfg.CommitFor+30*time.Second)
	defer cancel()
	start := make(chan struct{})
	var end time.Time
	errs := make(chan error, cfg.Bidders)
	for i := range cfg.Bidders {
		s, err := d.dial(ctx, fmt.Sprintf("ws://%s/ws?user=b%d", h.addr, i))
		if err != nil {
			return 0, 0, err
		}
		defer s.close()
		if _, err := s.read(ctx); err != nil { // welcome
			return 0, 0, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for n := 0; time.Now().Before(end); n++ {
				// Amounts rise with every bid handed out; one that arrives
				// after a higher one is early-rejected without a round trip.
				a := amount.Add(1)
				msg := fmt.Sprintf(`{"type":"bid","room":%q,"id":"b%d-%d","amount":"%d.%02d"}`, room, i, n, a/100, a%100)
				if err := s.write(ctx, []byte(msg)); err != nil {
					errs <- err
					return
				}
				for {
					b, err := s.read(ctx)
					if err != nil {
						errs <- err
						return
					}
					if strings.HasPrefix(string(b), `{"type":"ack"`) {
						acks.Add(1)
						break
					}
					if strings.HasPrefix(string(b), `{"type":"reject"`) {
						break
					}
					if strings.HasPrefix(string(b), `{"type":"error"`) {
						errs <- fmt.Errorf("a bid was refused: %.200s", b)
						return
					}
				}
			}
		}()
	}
	t0 := time.Now()
	end = t0.Add(cfg.CommitFor)
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	select {
	case err := <-errs:
		return 0, 0, err
	default:
	}
	n := acks.Load()
	return float64(n) / elapsed.Seconds(), n, nil
}

// rawCeiling runs pgstore's bid transaction in a loop on one connection.
func rawCeiling(ctx context.Context, cfg Config, pg *testpg.Standalone) (float64, int64, error) {
	dsn, err := pg.CreateDB(ctx, "bench_raw")
	if err != nil {
		return 0, 0, err
	}
	if out, err := exec.CommandContext(ctx, cfg.Hotrow, "migrate", "-database-url", dsn, "-log-level", "warn").CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("migrate: %v: %s", err, out)
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return 0, 0, err
	}
	pcfg.MaxConns, pcfg.MinConns = 1, 1
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return 0, 0, err
	}
	st := pgstore.New(pool, pgstore.Postgres)
	defer st.Close()
	dur, zero := 7200, 0
	svc := auction.NewService(st.Auctions(), rooms.Deps{})
	if _, err := svc.Create(ctx, auction.CreateRequest{ID: "hot", Title: "bench", StartingPrice: "1.00", Increment: "0.01",
		DurationS: &dur, AntiSnipeWindowS: &zero, AntiSnipeExtendS: &zero}, "bench"); err != nil {
		return 0, 0, err
	}
	var n int64
	t0 := time.Now()
	end := t0.Add(cfg.CommitFor)
	for time.Now().Before(end) {
		if err := RawBid(ctx, st.Auctions(), "hot", "raw", fmt.Sprintf("r-%d", n)); err != nil {
			return 0, 0, err
		}
		n++
	}
	return float64(n) / time.Since(t0).Seconds(), n, nil
}

// RawBid is the engine's bid transaction without the engine, hub or socket:
// in one transaction of st, the message's idempotency record, the auction,
// its version and the clock are read, and a bid at the minimum by bidder is
// written with the event, state and idempotency record a hub would write.
// It is the ceiling a hub's commit rate is measured against (here, and on
// the DSQL test double in server/bench_dsql_test.go).
func RawBid(ctx context.Context, st auction.Store, auctionID, bidder, msgID string) error {
	room := auction.Room(auctionID)
	return st.Attempt(ctx, auctionID, rooms.Key{Room: room, User: bidder, ID: msgID}, func(tx auction.Tx) error {
		if _, found := tx.Applied(); found {
			return nil
		}
		a, v, err := tx.Load()
		if err != nil {
			return err
		}
		now := tx.Now()
		na, rej := a.PlaceBid(a.MinNextBid(), bidder, now)
		if rej != nil {
			return rej
		}
		data, _ := json.Marshal(auction.BidData{Amount: na.CurrentBid, Bidder: bidder, EndsAt: na.EndsAt, ID: msgID})
		state, _ := json.Marshal(na.StateAt(now))
		ev := rooms.Event{Room: room, Version: v + 1, Kind: auction.KindBid, By: bidder, At: now, Data: data, State: state}
		b := auction.Bid{AuctionID: auctionID, Version: v + 1, Amount: na.CurrentBid, Bidder: bidder, At: now, MsgID: msgID}
		return tx.SaveBid(ctx, na, b, ev, rooms.Applied{Version: v + 1, Attempts: 1})
	})
}
