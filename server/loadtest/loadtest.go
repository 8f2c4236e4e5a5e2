// Package loadtest is `hotrow loadtest`: it creates an auction, opens one
// socket per bidder (spread round-robin over one or more hubs), has them bid
// concurrently, waits for the auction to close, and then checks hotrow's
// promises from the HTTP API and from what every client received. Any
// violation makes it exit non-zero.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrViolations is returned when any invariant did not hold.
var ErrViolations = errors.New("invariants violated")

// Config sets up one run.
type Config struct {
	URLs          []string      // hub base URLs, e.g. http://localhost:8080
	Bidders       int           // sockets, one bidder each
	BidsPerBidder int           // accepted bids each bidder aims for
	MaxTries      int           // bids a bidder sends at most (default 20 × BidsPerBidder)
	AuctionFor    time.Duration // how long the auction runs
	Timeout       time.Duration // the whole run's bound
	Progress      io.Writer     // progress lines; nil for none
	Seed          uint64        // for the bid amounts; 0 picks one
}

// Main parses flags and runs the load test, printing progress and the table.
func Main(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	urls := fs.String("url", "http://localhost:8080", "hub base URL; several comma-separated hubs share the bidders round-robin")
	cfg := Config{Progress: stdout}
	fs.IntVar(&cfg.Bidders, "bidders", 300, "bidders, each on its own socket")
	fs.IntVar(&cfg.BidsPerBidder, "bids", 2, "accepted bids each bidder aims for (it raises after each bid_too_low)")
	fs.IntVar(&cfg.MaxTries, "max-tries", 0, "bids a bidder sends at most (default 20 × -bids)")
	fs.DurationVar(&cfg.AuctionFor, "auction-for", 15*time.Second, "how long the auction runs (bidding must fit in it)")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "give up after this long")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed for bid amounts (0: random)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, u := range strings.Split(*urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.URLs = append(cfg.URLs, strings.TrimSuffix(u, "/"))
		}
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if !rep.OK() {
		return ErrViolations
	}
	return nil
}

type ack struct {
	user     string
	id       string
	amount   int64
	version  int64
	attempts int
}

// Run performs one load test and returns its report. An error means the
// test could not be carried out (a hub unreachable); violations are in the
// report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.URLs) == 0 || cfg.Bidders <= 0 || cfg.BidsPerBidder <= 0 {
		return nil, errors.New("loadtest needs at least one -url, -bidders > 0 and -bids > 0")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.AuctionFor <= 0 {
		cfg.AuctionFor = 15 * time.Second
	}
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = 20 * cfg.BidsPerBidder
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	progress := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", args...)
		}
	}
	rep := &Report{Bidders: cfg.Bidders, Hubs: len(cfg.URLs)}
	start := time.Now()

	id := fmt.Sprintf("lt-%d", time.Now().UnixNano())
	room := "auction:" + id
	endsAt, err := createAuction(ctx, cfg.URLs[0], id, cfg.AuctionFor)
	if err != nil {
		return nil, err
	}
	rep.Auction = id
	progress("created auction %s on %s, ending %s", id, cfg.URLs[0], endsAt.Format(time.RFC3339))

	clients := make([]*client, cfg.Bidders)
	var dialErr error
	var dialMu sync.Mutex
	var joined atomic.Int64
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial(ctx, cfg.URLs[i%len(cfg.URLs)], fmt.Sprintf("bidder-%04d", i))
			if err == nil {
				err = c.join(ctx, room)
			}
			if err != nil {
				dialMu.Lock()
				dialErr = errors.Join(dialErr, err)
				dialMu.Unlock()
				return
			}
			clients[i] = c
			joined.Add(1)
		}(i)
	}
	wg.Wait()
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	if dialErr != nil {
		return nil, fmt.Errorf("opening sockets: %w", dialErr)
	}
	progress("%d sockets joined %s over %d hub(s) in %s", joined.Load(), room, len(cfg.URLs), time.Since(start).Round(time.Millisecond))

	var (
		mu       sync.Mutex
		acks     []ack
		sent     atomic.Int64
		accepted atomic.Int64
		rejected atomic.Int64
		reasons  = map[string]int{}
		resendOK = true
		resends  int
	)
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				progress("[%4.1fs] bids sent %d, accepted %d, rejected %d", time.Since(start).Seconds(), sent.Load(), accepted.Load(), rejected.Load())
			case <-stopProgress:
				return
			}
		}
	}()
	bidStart := time.Now()
	var violations []string
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *client) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
			var first *ack
			won, next := 0, c.min()
			for n := 0; n < cfg.MaxTries && won < cfg.BidsPerBidder && ctx.Err() == nil; n++ {
				// Bid at the newest minimum this bidder knows, sometimes a
				// little above, so bids collide the way a hot auction's do.
				amount := max(next, c.min()) + int64(rng.IntN(3))*100
				bidID := fmt.Sprintf("%s-b%d", c.user, n)
				sent.Add(1)
				f, err := c.bid(ctx, room, bidID, amount)
				if err != nil {
					mu.Lock()
					violations = append(violations, err.Error())
					mu.Unlock()
					return
				}
				mu.Lock()
				if f.Type == "ack" {
					accepted.Add(1)
					won++
					a := ack{user: c.user, id: bidID, amount: amount, version: f.Version, attempts: f.Attempts}
					acks = append(acks, a)
					if first == nil {
						first = &a
					}
				} else {
					rejected.Add(1)
					reasons[f.Reason]++
					if f.Min != "" {
						next = mustCents(f.Min)
					}
				}
				mu.Unlock()
				if f.Type == "reject" && f.Reason == "ended" {
					break
				}
			}
			if first != nil {
				// A resend of an acknowledged id must get the same ack.
				f, err := c.bid(ctx, room, first.id, first.amount)
				mu.Lock()
				resends++
				if err != nil || f.Type != "ack" || f.Version != first.version {
					resendOK = false
					violations = append(violations, fmt.Sprintf("resent %s: got %s version %d, first ack was version %d (%v)", first.id, f.Type, f.Version, first.version, err))
				}
				mu.Unlock()
			}
		}(i, c)
	}
	wg.Wait()
	rep.BidPhase = time.Since(bidStart)
	close(stopProgress)
	progress("bidding done in %s: %d sent, %d accepted, %d rejected %v", rep.BidPhase.Round(time.Millisecond), sent.Load(), accepted.Load(), rejected.Load(), reasons)

	// Wait for every client to see the auction close.
	progress("waiting for the auction to close at %s", endsAt.Format(time.RFC3339))
	for _, c := range clients {
		select {
		case <-c.closedSeen:
		case <-ctx.Done():
			violations = append(violations, fmt.Sprintf("%s never saw the closed event: %v", c.user, ctx.Err()))
		}
		if ctx.Err() != nil {
			break
		}
	}
	// Let in-flight frames land before reading what each client saw.
	time.Sleep(200 * time.Millisecond)

	rep.Sent, rep.Accepted, rep.Rejected, rep.RejectReasons = int(sent.Load()), len(acks), int(rejected.Load()), reasons
	rep.Resends, rep.ResendsOK = resends, resendOK
	final, err := getAuction(ctx, cfg.URLs, id)
	if err != nil {
		return nil, err
	}
	bids, err := getBids(ctx, cfg.URLs[0], id)
	if err != nil {
		return nil, err
	}
	rep.check(acks, final, bids, clients, violations)
	rep.Took = time.Since(start)
	return rep, nil
}

func createAuction(ctx context.Context, base, id string, d time.Duration) (time.Time, error) {
	body, _ := json.Marshal(map[string]any{"id": id, "title": "load test " + id, "starting_price": "1.00",
		"increment": "1.00", "duration_s": int(d.Seconds()), "anti_snipe_window_s": 0})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/auctions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("creating the auction on %s: %w", base, err)
	}
	defer resp.Body.Close()
	var st struct {
		EndsAt time.Time `json:"ends_at"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return time.Time{}, fmt.Errorf("creating the auction on %s: %s: %s", base, resp.Status, b)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return time.Time{}, fmt.Errorf("creating the auction on %s: reading the reply: %w", base, err)
	}
	return st.EndsAt, nil
}

// hubState is the final state as one hub's HTTP API reports it.
type hubState struct {
	url   string
	state auctionState
}

// getAuction reads the auction from every hub.
func getAuction(ctx context.Context, urls []string, id string) ([]hubState, error) {
	out := make([]hubState, len(urls))
	for i, u := range urls {
		out[i].url = u
		if err := getJSON(ctx, u+"/api/auctions/"+id, &out[i].state); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type bidRow struct {
	Amount  string `json:"amount"`
	Bidder  string `json:"bidder"`
	Version int64  `json:"version"`
}

func getJSON(ctx context.Context, url string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}

func getBids(ctx context.Context, base, id string) ([]bidRow, error) {
	var out []bidRow
	return out, getJSON(ctx, base+"/api/auctions/"+id+"/bids", &out)
}
