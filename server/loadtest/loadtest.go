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
	// OpenFor is the least time from creating the auction to its start,
	// for the sockets to join it (otherwise three times the dialling, at
	// least 3s): joining thousands takes longer than dialling them.
	OpenFor  time.Duration
	Timeout  time.Duration // the whole run's bound
	Progress io.Writer     // progress lines; nil for none
	Seed     uint64        // for the bid amounts; 0 picks one
	// Reconnect survives faults: a socket that drops is dialled again and
	// re-joined with since, on the next hub of URLs in turn (on the same
	// one again when there is only one, which may be restarting), and a bid
	// without its final answer (no reply before the drop, or unavailable)
	// is sent again with the same id. The invariants are checked all the
	// same, and each re-join must have recovered what it missed. Without
	// it a dropped socket is a violation.
	Reconnect bool
	// OnAccepted, when set, is called with the number of bids accepted so
	// far after each acceptance (fault tests inject their fault by it).
	OnAccepted func(n int)
	// Faults are done during the bidding, each once, at its time after the
	// bidding starts (a test harness restarting NATS or killing a hub).
	// They need Reconnect for the sockets they cut to carry on.
	Faults []Fault
}

// Fault is something done to the system under load.
type Fault struct {
	Name  string
	After time.Duration
	Do    func()
}

// Main parses flags and runs the load test, printing progress and the table.
func Main(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	urls := fs.String("url", "http://localhost:8080", "hub base URL; several comma-separated hubs share the bidders round-robin (and, with -reconnect, take over the sockets of one that goes away)")
	cfg := Config{Progress: stdout}
	fs.IntVar(&cfg.Bidders, "bidders", 300, "bidders, each on its own socket")
	fs.IntVar(&cfg.BidsPerBidder, "bids", 2, "accepted bids each bidder aims for (it raises after each bid_too_low)")
	fs.IntVar(&cfg.MaxTries, "max-tries", 0, "bids a bidder sends at most (default 20 × -bids)")
	fs.DurationVar(&cfg.AuctionFor, "auction-for", 15*time.Second, "how long the auction runs (bidding must fit in it)")
	fs.DurationVar(&cfg.OpenFor, "open-for", 0, "the least time from creating the auction to its start, for the sockets to join (0: three times the dialling, at least 3s)")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "give up after this long")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed for bid amounts (0: random)")
	fs.BoolVar(&cfg.Reconnect, "reconnect", false, "survive faults: a dropped socket is dialled again and re-joined with since, on the next -url in turn (the same one when there is only one), and a bid without its final answer (none before the drop, or unavailable) is sent again with the same id; without it a dropped socket is a violation")
	latency := fs.Bool("latency", false, "instead: measure send-to-receipt latency of one bidder's events on its own hub and on the others (needs two or more -url)")
	latBids := fs.Int("latency-bids", 200, "with -latency: bids measured")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, u := range strings.Split(*urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.URLs = append(cfg.URLs, strings.TrimSuffix(u, "/"))
		}
	}
	if *latency {
		rep, err := Latency(context.Background(), LatencyConfig{URLs: cfg.URLs, Bids: *latBids, Timeout: cfg.Timeout, Progress: stdout})
		if err != nil {
			return err
		}
		rep.Print(stdout, "latency")
		return nil
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

// Run performs one load test and returns its report. An error means the
// test could not be carried out (a hub unreachable); violations are in the
// report. Its phases: open the sockets, create the auction, join it, bid
// (bidders.go), wait for the close, read the outcome over HTTP and check it
// (report.go). The auction is created only once every socket is open, and
// it starts a while later (three times the dialling, at least 3 s), once
// the sockets have joined it: its clock runs for the bidding however slow
// the machine is.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rep := &Report{Bidders: cfg.Bidders, Hubs: len(cfg.URLs)}
	start := time.Now()

	clients, err := openSockets(ctx, cfg)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("opening sockets: %w", err)
	}
	cfg.logf("%d sockets open over %d hub(s) in %s", len(clients), len(cfg.URLs), time.Since(start).Round(time.Millisecond))

	id := fmt.Sprintf("lt-%d", time.Now().UnixNano())
	room := "auction:" + id
	startsAt := time.Now().Add(max(3*time.Second, 3*time.Since(start), cfg.OpenFor)).UTC().Truncate(time.Millisecond)
	endsAt, err := createAuction(ctx, cfg.URLs[0], id, startsAt, cfg.AuctionFor)
	if err != nil {
		return nil, err
	}
	rep.Auction = id
	cfg.logf("created auction %s on %s, from %s to %s", id, cfg.URLs[0], startsAt.Format(time.RFC3339Nano), endsAt.Format(time.RFC3339))
	joinStart := time.Now()
	if err := joinAll(ctx, clients, room); err != nil {
		return nil, fmt.Errorf("joining %s: %w", room, err)
	}
	cfg.logf("%d sockets joined %s in %s", len(clients), room, time.Since(joinStart).Round(time.Millisecond))
	select {
	case <-time.After(time.Until(startsAt)):
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	bidStart := time.Now()
	faultsDone := runFaults(ctx, cfg)
	t := bidAll(ctx, cfg, room, clients, start)
	rep.BidPhase = time.Since(bidStart)
	cfg.logf("bidding done in %s: %d sent, %d accepted, %d rejected %v", rep.BidPhase.Round(time.Millisecond), t.sent.Load(), t.accepted.Load(), t.rejected.Load(), t.reasons)

	cfg.logf("waiting for the auction to close at %s", endsAt.Format(time.RFC3339))
	violations := append(t.violations, waitClosed(ctx, clients)...)
	<-faultsDone
	// Let in-flight frames land before reading what each client saw.
	time.Sleep(200 * time.Millisecond)

	rep.Sent, rep.Accepted, rep.Rejected, rep.RejectReasons = int(t.sent.Load()), len(t.acks), int(t.rejected.Load()), t.reasons
	rep.Resends, rep.ResendsOK = t.resends, t.resendOK
	for _, c := range clients {
		c.mu.Lock()
		rep.Reconnects += c.reconnects
		rep.Unavailable += c.resent
		c.mu.Unlock()
	}
	// The outcome is read even when the run's time ran out, so the report
	// says what went wrong rather than only that time did.
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	final, down := getAuction(rctx, cfg.URLs, id)
	if len(final) == 0 {
		return nil, fmt.Errorf("no hub answers for the final state: %w", errNoHub)
	}
	rep.HubsDown = down
	bids, err := getBids(rctx, final[0].url, id)
	if err != nil {
		return nil, err
	}
	rep.check(t.acks, final, bids, clients, violations)
	rep.Took = time.Since(start)
	return rep, nil
}

// withDefaults checks cfg and fills in what was left zero.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.URLs) == 0 || cfg.Bidders <= 0 || cfg.BidsPerBidder <= 0 {
		return cfg, errors.New("loadtest needs at least one -url, -bidders > 0 and -bids > 0")
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
	return cfg, nil
}

// logf writes one progress line, if progress is wanted.
func (cfg Config) logf(format string, args ...any) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, format+"\n", args...)
	}
}

// openSockets opens one socket per bidder, at most 32 at a time, spread
// round-robin over the hubs. The clients that did open are returned even
// with an error, for the caller to close.
func openSockets(ctx context.Context, cfg Config) ([]*client, error) {
	clients := make([]*client, cfg.Bidders)
	err := eachConcurrently(cfg.Bidders, func(i int) error {
		c, err := dialClient(ctx, cfg.URLs, i%len(cfg.URLs), fmt.Sprintf("bidder-%04d", i), cfg.Reconnect)
		clients[i] = c
		return err
	})
	return clients, err
}

// joinAll joins every client to room, at most 32 at a time.
func joinAll(ctx context.Context, clients []*client, room string) error {
	return eachConcurrently(len(clients), func(i int) error { return clients[i].join(ctx, room) })
}

// eachConcurrently calls fn(0..n-1), at most 32 at a time, and joins their
// errors.
func eachConcurrently(n int, fn func(i int) error) error {
	var (
		errs error
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				errs = errors.Join(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// waitClosed waits for every client to see the auction close, and lists
// the clients that never did: their socket ended for good, or time ran out.
func waitClosed(ctx context.Context, clients []*client) []string {
	var violations []string
	for _, c := range clients {
		select {
		case <-c.closedSeen:
		case <-c.gone:
			select {
			case <-c.closedSeen:
			default:
				violations = append(violations, fmt.Sprintf("%s never saw the closed event: its socket ended (%v)", c.user, c.err()))
			}
		case <-ctx.Done():
			violations = append(violations, fmt.Sprintf("%s never saw the closed event: %v", c.user, ctx.Err()))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return violations
}

func createAuction(ctx context.Context, base, id string, startsAt time.Time, d time.Duration) (time.Time, error) {
	body, _ := json.Marshal(map[string]any{"id": id, "title": "load test " + id, "starting_price": "1.00",
		"increment": "1.00", "starts_at": startsAt, "duration_s": int(d.Seconds()), "anti_snipe_window_s": 0})
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

// runFaults does cfg.Faults at their times; the channel is closed when all
// are done.
func runFaults(ctx context.Context, cfg Config) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		for _, f := range cfg.Faults {
			t := time.NewTimer(time.Until(start.Add(f.After)))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			cfg.logf("[%4.1fs] fault: %s", time.Since(start).Seconds(), f.Name)
			f.Do()
		}
	}()
	return done
}

// hubState is the final state as one hub's HTTP API reports it.
type hubState struct {
	url   string
	state auctionState
}

// getAuction reads the auction from every hub that answers, and lists
// those that do not (a hub killed by a fault).
func getAuction(ctx context.Context, urls []string, id string) (states []hubState, down []string) {
	for _, u := range urls {
		h := hubState{url: u}
		if err := getJSON(ctx, u+"/api/auctions/"+id, &h.state); err != nil {
			down = append(down, u)
			continue
		}
		states = append(states, h)
	}
	return states, down
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
