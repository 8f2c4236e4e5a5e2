package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// ack is one accepted bid, as its bidder was told.
type ack struct {
	user     string
	id       string
	amount   int64
	version  int64
	attempts int
}

// tally is what the bidders found, shared by their goroutines.
type tally struct {
	sent, accepted, rejected atomic.Int64 // also read by the progress ticker

	mu         sync.Mutex
	acks       []ack
	reasons    map[string]int // reject reason → count
	resends    int
	resendOK   bool
	violations []string
}

// bidAll has every client bid concurrently (bidder), printing progress
// every second, and returns once all are done.
func bidAll(ctx context.Context, cfg Config, room string, clients []*client, start time.Time) *tally {
	t := &tally{reasons: map[string]int{}, resendOK: true}
	stopProgress := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				cfg.logf("[%4.1fs] bids sent %d, accepted %d, rejected %d", time.Since(start).Seconds(), t.sent.Load(), t.accepted.Load(), t.rejected.Load())
			case <-stopProgress:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *client) {
			defer wg.Done()
			t.bidder(ctx, cfg, room, i, c)
		}(i, c)
	}
	wg.Wait()
	close(stopProgress)
	return t
}

// bidder is bidder i: it bids until it holds cfg.BidsPerBidder accepted
// bids, has sent cfg.MaxTries, or the auction ended, raising after each
// bid_too_low; then it resends its first accepted bid.
func (t *tally) bidder(ctx context.Context, cfg Config, room string, i int, c *client) {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
	var first *ack
	won, next := 0, c.min()
	for n := 0; n < cfg.MaxTries && won < cfg.BidsPerBidder && ctx.Err() == nil; n++ {
		// Bid at the newest minimum this bidder knows, sometimes a
		// little above, so bids collide the way a hot auction's do.
		amount := max(next, c.min()) + int64(rng.IntN(3))*100
		bidID := fmt.Sprintf("%s-b%d", c.user, n)
		t.sent.Add(1)
		f, _, err := c.bid(ctx, room, bidID, amount)
		if err != nil {
			t.mu.Lock()
			t.violations = append(t.violations, err.Error())
			t.mu.Unlock()
			return
		}
		t.mu.Lock()
		if f.Type == "ack" {
			if n := t.accepted.Add(1); cfg.OnAccepted != nil {
				cfg.OnAccepted(int(n))
			}
			won++
			a := ack{user: c.user, id: bidID, amount: amount, version: f.Version, attempts: f.Attempts}
			t.acks = append(t.acks, a)
			if first == nil {
				first = &a
			}
		} else {
			t.rejected.Add(1)
			t.reasons[f.Reason]++
			if f.Min != "" {
				next = mustCents(f.Min)
			}
		}
		t.mu.Unlock()
		if f.Type == "reject" && f.Reason == "ended" {
			break
		}
		if f.Type == "reject" && f.Reason == "not_started" {
			// This machine's clock is ahead of the hub's: wait a little.
			time.Sleep(100 * time.Millisecond)
		}
	}
	if first != nil {
		t.resend(ctx, room, c, first)
	}
}

// resend sends an acknowledged bid again: it must get the same ack.
func (t *tally) resend(ctx context.Context, room string, c *client, first *ack) {
	f, _, err := c.bid(ctx, room, first.id, first.amount)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.resends++
	if err != nil || f.Type != "ack" || f.Version != first.version {
		t.resendOK = false
		t.violations = append(t.violations, fmt.Sprintf("resent %s: got %s version %d, first ack was version %d (%v)", first.id, f.Type, f.Version, first.version, err))
	}
}
