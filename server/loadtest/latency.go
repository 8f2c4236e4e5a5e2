package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"
)

// LatencyConfig sets up a cross-hub latency probe: one bidder on the first
// hub bids at a steady pace; watchers on the same hub and on every other hub
// note when each bid's event reaches them.
type LatencyConfig struct {
	URLs           []string      // URLs[0] is the bidder's hub; the others are "cross-hub"
	Bids           int           // bids measured (default 200)
	Warmup         int           // bids sent first and not measured (default 10)
	Interval       time.Duration // between two bids (default 25ms)
	WatchersPerHub int           // default 2
	Timeout        time.Duration // the whole probe's bound (default 2m)
	Progress       io.Writer
}

// Dist is a latency distribution.
type Dist struct {
	N             int
	P50, P99, Max time.Duration
}

func (d Dist) String() string {
	return fmt.Sprintf("p50 %s, p99 %s, max %s (%d samples)", ms(d.P50), ms(d.P99), ms(d.Max), d.N)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// LatencyReport is what a probe measured: from a bid's send to its event's
// receipt by each watcher.
type LatencyReport struct {
	Bids     int
	SameHub  Dist // watchers on the bidder's hub
	CrossHub Dist // watchers on the other hubs
	Missing  int  // (watcher, bid) events never received
}

// Print writes the report.
func (r *LatencyReport) Print(w io.Writer, label string) {
	fmt.Fprintf(w, "%s: %d bids; same hub %s; cross hub %s; missing %d\n", label, r.Bids, r.SameHub, r.CrossHub, r.Missing)
}

func (cfg LatencyConfig) withDefaults() (LatencyConfig, error) {
	if len(cfg.URLs) < 2 {
		return cfg, errors.New("the latency probe needs at least two hubs")
	}
	if cfg.Bids <= 0 {
		cfg.Bids = 200
	}
	if cfg.Warmup < 0 {
		cfg.Warmup = 0
	} else if cfg.Warmup == 0 {
		cfg.Warmup = 10
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 25 * time.Millisecond
	}
	if cfg.WatchersPerHub <= 0 {
		cfg.WatchersPerHub = 2
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	return cfg, nil
}

// Latency runs one probe.
func Latency(ctx context.Context, cfg LatencyConfig) (*LatencyReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	logf := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", args...)
		}
	}
	total := cfg.Warmup + cfg.Bids
	id := fmt.Sprintf("lat-%d", time.Now().UnixNano())
	room := "auction:" + id
	run := time.Duration(total)*cfg.Interval*4 + time.Minute
	// Started a second ago: no bid of the probe may find it not started.
	if _, err := createAuction(ctx, cfg.URLs[0], id, time.Now().Add(-time.Second).UTC(), run); err != nil {
		return nil, err
	}

	var mu sync.Mutex
	sent := map[int64]time.Time{} // amount in cents → when its bid was sent
	type receipt struct {
		amount int64
		at     time.Time
	}
	var clients []*client
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	recv := make([][]receipt, 0)
	same := []bool{}
	for h := range cfg.URLs {
		for i := 0; i < cfg.WatchersPerHub; i++ {
			idx := len(recv)
			recv = append(recv, nil)
			same = append(same, h == 0)
			c := newClient(cfg.URLs, h, fmt.Sprintf("watcher-%d-%d", h, i), false)
			c.onEvent = func(f *frame, at time.Time) {
				if f.Kind != "bid" {
					return
				}
				var d struct {
					Amount string `json:"amount"`
				}
				if json.Unmarshal(f.Data, &d) != nil {
					return
				}
				mu.Lock()
				recv[idx] = append(recv[idx], receipt{mustCents(d.Amount), at})
				mu.Unlock()
			}
			if err := c.connect(ctx, room); err != nil {
				return nil, err
			}
			clients = append(clients, c)
		}
	}
	bidder := newClient(cfg.URLs, 0, "latency-bidder", false)
	if err := bidder.connect(ctx, room); err != nil {
		return nil, err
	}
	clients = append(clients, bidder)
	logf("latency probe on %s: bidder on %s, %d watchers on each of %d hubs, %d bids every %s after %d unmeasured",
		id, cfg.URLs[0], cfg.WatchersPerHub, len(cfg.URLs), cfg.Bids, cfg.Interval, cfg.Warmup)

	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for i := 1; i <= total; i++ {
		amount := int64(i) * 100
		f, at, err := bidder.bid(ctx, room, fmt.Sprintf("lat-%d", i), amount)
		if err != nil {
			return nil, err
		}
		if f.Type != "ack" {
			return nil, fmt.Errorf("latency bid %s: %s %s %s", formatCents(amount), f.Type, f.Reason, f.Message)
		}
		if i > cfg.Warmup {
			mu.Lock()
			sent[amount] = at
			mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	// Every watcher gets every bid; wait for the stragglers.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		all := true
		for _, r := range recv {
			all = all && len(r) >= total
		}
		mu.Unlock()
		if all {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	rep := &LatencyReport{Bids: cfg.Bids}
	var sameLat, crossLat []time.Duration
	mu.Lock()
	for w, rs := range recv {
		got := map[int64]bool{}
		for _, r := range rs {
			t0, ok := sent[r.amount]
			if !ok {
				continue
			}
			got[r.amount] = true
			if same[w] {
				sameLat = append(sameLat, r.at.Sub(t0))
			} else {
				crossLat = append(crossLat, r.at.Sub(t0))
			}
		}
		rep.Missing += len(sent) - len(got)
	}
	mu.Unlock()
	rep.SameHub, rep.CrossHub = dist(sameLat), dist(crossLat)
	return rep, nil
}

func dist(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration {
		i := int(math.Ceil(q*float64(len(ds)))) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return Dist{N: len(ds), P50: at(0.5), P99: at(0.99), Max: ds[len(ds)-1]}
}
