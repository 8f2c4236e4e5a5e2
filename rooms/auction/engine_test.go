package auction_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
	"hotrow/txn/memstore"
)

var start = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t       *testing.T
	clk     *clock.Fake // the database's clock
	mem     *memstore.Store
	store   auction.Store
	metrics *txn.Metrics
	deps    rooms.Deps
}

func newEnv(t *testing.T) *env {
	clk := clock.NewFake(start)
	mem := memstore.New(clk)
	m := txn.NewMetrics(prometheus.NewRegistry())
	e := &env{t: t, clk: clk, mem: mem, store: mem.Auctions(), metrics: m}
	e.deps = rooms.Deps{
		// Back-offs sleep on the real clock (a few ms at most); deadlines
		// are decided by the store's fake clock.
		Runner: &txn.Runner{Clock: clock.Real{}, Metrics: m, Policy: txn.Policy{MaxAttempts: 50}},
		Clock:  clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewID:  func() string { return "gen" },
	}
	return e
}

// create commits an auction "a1" starting now at 100.00 by 5.00, ending in
// 5 minutes, with a 30s anti-snipe window and extension.
func (e *env) create(edit func(*auction.CreateRequest)) auction.Auction {
	e.t.Helper()
	req := auction.CreateRequest{ID: "a1", Title: "Lamp", StartingPrice: "100.00", Increment: "5.00",
		DurationS: ptr(300), AntiSnipeWindowS: ptr(30), AntiSnipeExtendS: ptr(30)}
	if edit != nil {
		edit(&req)
	}
	a, err := auction.NewService(e.store, e.deps).Create(context.Background(), req, "alice")
	if err != nil {
		e.t.Fatalf("create: %v", err)
	}
	return a
}

// engine makes and loads a new engine for a1, as a (new) hub would.
func (e *env) engine() rooms.Engine {
	e.t.Helper()
	en := auction.RoomKind(e.store, e.deps).New("a1")
	if _, err := en.Load(context.Background()); err != nil {
		e.t.Fatalf("load: %v", err)
	}
	return en
}

func (e *env) attempts(op string) float64 {
	return testutil.ToFloat64(e.metrics.Attempts.WithLabelValues("auction", op))
}

func (e *env) bids() []auction.Bid {
	e.t.Helper()
	bs, err := e.store.Bids(context.Background(), "a1")
	if err != nil {
		e.t.Fatal(err)
	}
	return bs
}

func ptr[T any](v T) *T { return &v }

func bid(user, id, amount string) *rooms.Mutation {
	return &rooms.Mutation{Op: "bid", ID: id, User: user, Payload: json.RawMessage(amount)}
}

// apply runs m on en and, like the sequencer, observes the committed event.
func apply(en rooms.Engine, m *rooms.Mutation) rooms.Outcome {
	out := en.Apply(context.Background(), m)
	if out.Event != nil {
		en.Observe(*out.Event)
	}
	return out
}

func wantAck(t *testing.T, out rooms.Outcome, version int64) {
	t.Helper()
	if out.Reject != nil {
		t.Fatalf("rejected %s: %s, want ack v%d", out.Reject.Reason, out.Reject.Message, version)
	}
	if out.Version != version || out.Attempts < 1 {
		t.Fatalf("ack version %d attempts %d, want version %d", out.Version, out.Attempts, version)
	}
}

func wantReject(t *testing.T, out rooms.Outcome, reason string) *rooms.Rejection {
	t.Helper()
	if out.Reject == nil {
		t.Fatalf("acked v%d, want reject %s", out.Version, reason)
	}
	if out.Reject.Reason != reason {
		t.Fatalf("reject %s (%s), want %s", out.Reject.Reason, out.Reject.Message, reason)
	}
	if out.Event != nil {
		t.Fatal("a rejection carries an event")
	}
	return out.Reject
}

func state(t *testing.T, en rooms.Engine, now time.Time) auction.State {
	t.Helper()
	s, ok := en.State(now).(auction.State)
	if !ok {
		t.Fatalf("state is %T", en.State(now))
	}
	return s
}

func TestEngineBidAck(t *testing.T) {
	e := newEnv(t)
	e.create(nil)
	en := e.engine()
	e.clk.Advance(time.Minute)

	out := apply(en, bid("bob", "b1", `"100.00"`))
	wantAck(t, out, 2)
	if out.Attempts != 1 {
		t.Fatalf("attempts %d on an uncontended store", out.Attempts)
	}
	ev := out.Event
	if ev == nil || ev.Kind != auction.KindBid || ev.Version != 2 || ev.By != "bob" || ev.Room != "auction:a1" {
		t.Fatalf("event %+v", ev)
	}
	var d auction.BidData
	if err := json.Unmarshal(ev.Data, &d); err != nil || d.Amount != 10000 || d.Bidder != "bob" || d.ID != "b1" {
		t.Fatalf("bid data %s: %+v %v", ev.Data, d, err)
	}
	var s auction.State
	if err := json.Unmarshal(ev.State, &s); err != nil || s.CurrentBid == nil || *s.CurrentBid != 10000 || s.MinNextBid != 10500 {
		t.Fatalf("event state %s", ev.State)
	}
	if got := state(t, en, e.clk.Now()); got.Leader == nil || *got.Leader != "bob" || got.Bids != 1 {
		t.Fatalf("cached state after observing: %+v", got)
	}

	wantAck(t, apply(en, bid("carol", "c1", `"105.00"`)), 3)
	bs := e.bids()
	if len(bs) != 2 || bs[0].Amount != 10000 || bs[1].Amount != 10500 || bs[1].Bidder != "carol" || bs[1].Version != 3 {
		t.Fatalf("bid rows %+v", bs)
	}
	a, v, err := e.store.Get(context.Background(), "a1")
	if err != nil || v != 3 || a.CurrentBid != 10500 || a.Leader != "carol" {
		t.Fatalf("stored %+v v%d %v", a, v, err)
	}
}

func TestEngineEarlyRejectionRunsNoTransaction(t *testing.T) {
	e := newEnv(t)
	e.create(nil)
	en := e.engine()
	e.clk.Advance(time.Minute)

	before := e.attempts("bid")
	r := wantReject(t, apply(en, bid("bob", "b1", `"99.99"`)), auction.ReasonBidTooLow)
	if r.Min != "100.00" {
		t.Fatalf("min %q, want 100.00", r.Min)
	}
	if got := e.attempts("bid"); got != before {
		t.Fatalf("attempts went %v → %v: an early rejection must not run a transaction", before, got)
	}
	wantAck(t, apply(en, bid("bob", "b2", `"120.00"`)), 2)
	before = e.attempts("bid")
	r = wantReject(t, apply(en, bid("carol", "c1", `"124.99"`)), auction.ReasonBidTooLow)
	if r.Min != "125.00" {
		t.Fatalf("min %q, want 125.00", r.Min)
	}
	if got := e.attempts("bid"); got != before {
		t.Fatalf("attempts went %v → %v on an early rejection", before, got)
	}
	if n := len(e.bids()); n != 1 {
		t.Fatalf("%d bid rows, want 1", n)
	}
}

func TestEngineStaleStateRejectsInTransaction(t *testing.T) {
	// Hub B's cached state is behind hub A's commits: its early check lets the
	// bid through and the transaction rejects it with the true minimum.
	e := newEnv(t)
	e.create(nil)
	a, b := e.engine(), e.engine()
	e.clk.Advance(time.Minute)
	wantAck(t, apply(a, bid("bob", "b1", `"150.00"`)), 2)
	before := e.attempts("bid")
	r := wantReject(t, apply(b, bid("carol", "c1", `"120.00"`)), auction.ReasonBidTooLow)
	if r.Min != "155.00" {
		t.Fatalf("min %q, want 155.00 (from the committed state)", r.Min)
	}
	if got := e.attempts("bid"); got != before+1 {
		t.Fatalf("attempts %v → %v, want one transaction", before, got)
	}
}

func TestEngineResendSameEngine(t *testing.T) {
	e := newEnv(t)
	e.create(nil)
	en := e.engine()
	e.clk.Advance(time.Minute)
	first := apply(en, bid("bob", "b1", `"100.00"`))
	wantAck(t, first, 2)
	wantAck(t, apply(en, bid("carol", "c1", `"110.00"`)), 3)

	// The resend, even with another amount (now below the minimum), is the
	// same message: same ack, no effect.
	for _, amount := range []string{`"100.00"`, `"500.00"`} {
		again := apply(en, bid("bob", "b1", amount))
		wantAck(t, again, 2)
		if again.Attempts != first.Attempts || again.Event != nil {
			t.Fatalf("resend: attempts %d event %v, want attempts %d and no event", again.Attempts, again.Event, first.Attempts)
		}
	}
	if n := len(e.bids()); n != 2 {
		t.Fatalf("%d bid rows after a resend, want 2", n)
	}
	// The id is per user: carol's "b1" is a different message.
	wantAck(t, apply(en, bid("carol", "b1", `"115.00"`)), 4)

	// A new engine (a restarted hub) answers the resend from the store.
	fresh := e.engine()
	again := apply(fresh, bid("bob", "b1", `"100.00"`))
	wantAck(t, again, 2)
	if again.Attempts != first.Attempts {
		t.Fatalf("attempts %d after restart, want %d", again.Attempts, first.Attempts)
	}
	if n := len(e.bids()); n != 3 {
		t.Fatalf("%d bid rows, want 3", n)
	}
}

func TestEngineResendCommittedByAnotherHub(t *testing.T) {
	e := newEnv(t)
	e.create(nil)
	a, b := e.engine(), e.engine() // b loads now and never hears of a's commits
	e.clk.Advance(time.Minute)
	first := apply(a, bid("bob", "b1", `"100.00"`))
	wantAck(t, first, 2)
	wantAck(t, apply(a, bid("carol", "c1", `"200.00"`)), 3)

	// Bob's socket to hub A dropped before the ack; he resends to hub B,
	// whose cached state is stale (no bids at all).
	out := apply(b, bid("bob", "b1", `"100.00"`))
	wantAck(t, out, 2)
	if out.Attempts != first.Attempts || out.Event != nil {
		t.Fatalf("resend via B: attempts %d event %v, want attempts %d, no event", out.Attempts, out.Event, first.Attempts)
	}
	if n := len(e.bids()); n != 2 {
		t.Fatalf("%d bid rows, want 2", n)
	}

	// B, having observed A's events (as its sequencer does when filling a
	// gap), still acks the resend instead of early-rejecting it as too low.
	for _, ev := range mustEvents(t, e, 1, 3) {
		b.Observe(ev)
	}
	out = apply(b, bid("bob", "b1", `"100.00"`))
	wantAck(t, out, 2)
	if out.Attempts != first.Attempts {
		t.Fatalf("resend after observing: attempts %d, want %d", out.Attempts, first.Attempts)
	}
	if n := len(e.bids()); n != 2 {
		t.Fatalf("%d bid rows, want 2", n)
	}
}

func mustEvents(t *testing.T, e *env, after, upto int64) []rooms.Event {
	t.Helper()
	evs, err := e.mem.EventsAfter(context.Background(), "auction:a1", after, upto)
	if err != nil || int64(len(evs)) != upto-after {
		t.Fatalf("events (%d,%d]: %d, %v", after, upto, len(evs), err)
	}
	return evs
}

func TestEngineDeadlineByStoreClock(t *testing.T) {
	e := newEnv(t)
	a := e.create(func(r *auction.CreateRequest) { r.AntiSnipeWindowS = ptr(0) })
	en := e.engine()

	e.clk.Set(a.EndsAt.Add(-time.Microsecond))
	wantAck(t, apply(en, bid("bob", "b1", `"100.00"`)), 2)

	e.clk.Set(a.EndsAt)
	before := e.attempts("bid")
	wantReject(t, apply(en, bid("carol", "c1", `"200.00"`)), auction.ReasonEnded)
	if e.attempts("bid") != before+1 {
		t.Fatal("the deadline must be decided in the transaction, by the store's clock")
	}
	if n := len(e.bids()); n != 1 {
		t.Fatalf("%d bid rows, want 1", n)
	}
}

func TestEngineAntiSnipeExtendsInStore(t *testing.T) {
	e := newEnv(t)
	a := e.create(nil)
	en := e.engine()
	e.clk.Set(a.EndsAt.Add(-10 * time.Second))
	out := apply(en, bid("bob", "b1", `"100.00"`))
	wantAck(t, out, 2)
	want := a.EndsAt.Add(20 * time.Second)
	var d auction.BidData
	_ = json.Unmarshal(out.Event.Data, &d)
	if !d.EndsAt.Equal(want) {
		t.Fatalf("bid event ends_at %s, want %s", d.EndsAt, want)
	}
	if at, pending := en.(rooms.Deadliner).Deadline(); !pending || !at.Equal(want) {
		t.Fatalf("deadline %s %v, want %s", at, pending, want)
	}
	// A bid after the original end, inside the extension, counts.
	e.clk.Set(a.EndsAt.Add(5 * time.Second))
	wantAck(t, apply(en, bid("carol", "c1", `"105.00"`)), 3)
}

func TestEngineNotStarted(t *testing.T) {
	e := newEnv(t)
	e.create(func(r *auction.CreateRequest) { s := start.Add(time.Hour); r.StartsAt = &s })
	en := e.engine()
	wantReject(t, apply(en, bid("bob", "b1", `"100.00"`)), auction.ReasonNotStarted)
	e.clk.Advance(time.Hour)
	wantAck(t, apply(en, bid("bob", "b1", `"100.00"`)), 2)
}

func TestEngineInvalidAmounts(t *testing.T) {
	e := newEnv(t)
	e.create(nil)
	en := e.engine()
	e.clk.Advance(time.Minute)
	before := e.attempts("bid")
	for _, amount := range []string{`100`, `100.5`, `"1.234"`, `"-100"`, `"0"`, `"0.00"`, `"1e9"`, `"NaN"`, `null`, `{}`, `""`, ``, `"1000000000.01"`} {
		r := wantReject(t, apply(en, bid("bob", "b1", amount)), auction.ReasonInvalidAmount)
		if r.Message == "" {
			t.Fatalf("amount %s: no message", amount)
		}
		if amount == `100` && !strings.Contains(r.Message, "not a JSON number") {
			t.Fatalf("amount %s: message %q should say a string is needed", amount, r.Message)
		}
	}
	if e.attempts("bid") != before {
		t.Fatal("an invalid amount ran a transaction")
	}
	// Nothing was recorded under b1: the id is still free.
	wantAck(t, apply(en, bid("bob", "b1", `"100.00"`)), 2)
}

func TestEngineUnknownAuction(t *testing.T) {
	e := newEnv(t)
	en := auction.RoomKind(e.store, e.deps).New("nope")
	if _, err := en.Load(context.Background()); err == nil || !strings.Contains(err.Error(), rooms.ErrNotFound.Error()) {
		t.Fatalf("load of a missing auction: %v, want not found", err)
	}
}

func TestEngineClose(t *testing.T) {
	e := newEnv(t)
	a := e.create(nil)
	en := e.engine()
	e.clk.Advance(time.Minute)
	wantAck(t, apply(en, bid("bob", "b1", `"100.00"`)), 2)

	wantReject(t, apply(en, &rooms.Mutation{Op: "close"}), "not_due")

	e.clk.Set(a.EndsAt)
	out := apply(en, &rooms.Mutation{Op: "close"})
	wantAck(t, out, 3)
	if out.Event == nil || out.Event.Kind != auction.KindClosed {
		t.Fatalf("close event %+v", out.Event)
	}
	var d auction.ClosedData
	if err := json.Unmarshal(out.Event.Data, &d); err != nil || d.Winner == nil || *d.Winner != "bob" || d.FinalPrice == nil || *d.FinalPrice != 10000 {
		t.Fatalf("closed data %s", out.Event.Data)
	}
	if _, pending := en.(rooms.Deadliner).Deadline(); pending {
		t.Fatal("a closed auction still wants closing")
	}
	wantReject(t, apply(en, &rooms.Mutation{Op: "close"}), "already_closed")
	wantReject(t, apply(en, bid("carol", "c1", `"500.00"`)), auction.ReasonEnded)
	s := state(t, en, e.clk.Now())
	if s.Status != auction.StatusEnded || s.Winner == nil || *s.Winner != "bob" || s.FinalPrice == nil || *s.FinalPrice != 10000 {
		t.Fatalf("closed state %+v", s)
	}
}

func TestEngineCloseWithoutBidsObservedByAnotherHub(t *testing.T) {
	e := newEnv(t)
	a := e.create(nil)
	x, y := e.engine(), e.engine()
	e.clk.Set(a.EndsAt)
	out := apply(x, &rooms.Mutation{Op: "close"})
	wantAck(t, out, 2)
	var d auction.ClosedData
	_ = json.Unmarshal(out.Event.Data, &d)
	if d.Winner != nil || d.FinalPrice != nil {
		t.Fatalf("closed without bids: %s", out.Event.Data)
	}
	// The other hub learns of the close from the event alone (its state has
	// no winner): it must know the auction is closed.
	y.Observe(*out.Event)
	if _, pending := y.(rooms.Deadliner).Deadline(); pending {
		t.Fatal("after observing closed, the auction still wants closing")
	}
	s := state(t, y, e.clk.Now())
	if s.Status != auction.StatusEnded || s.Winner != nil || s.FinalPrice != nil {
		t.Fatalf("state %+v", s)
	}
}

func TestEngineCloseRaceTwoHubs(t *testing.T) {
	for round := 0; round < 20; round++ {
		e := newEnv(t)
		a := e.create(nil)
		x, y := e.engine(), e.engine()
		e.clk.Advance(time.Minute)
		wantAck(t, apply(x, bid("bob", "b1", `"100.00"`)), 2)
		e.clk.Set(a.EndsAt)

		var wg sync.WaitGroup
		outs := make([]rooms.Outcome, 2)
		for i, en := range []rooms.Engine{x, y} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i] = en.Apply(context.Background(), &rooms.Mutation{Op: "close"})
			}()
		}
		wg.Wait()
		closed := 0
		for _, o := range outs {
			if o.Event != nil {
				closed++
				if o.Version != 3 {
					t.Fatalf("close committed as v%d, want 3", o.Version)
				}
			} else if o.Reject == nil || o.Reject.Reason != "already_closed" {
				t.Fatalf("losing close: %+v", o)
			}
		}
		if closed != 1 {
			t.Fatalf("round %d: %d closes committed, want exactly 1", round, closed)
		}
		evs := mustEvents(t, e, 0, 3)
		if evs[2].Kind != auction.KindClosed {
			t.Fatalf("v3 is %s", evs[2].Kind)
		}
		if more, _ := e.mem.EventsAfter(context.Background(), "auction:a1", 3, 100); len(more) != 0 {
			t.Fatalf("%d events after the close", len(more))
		}
	}
}

func TestEngineConcurrentBidsTwoHubs(t *testing.T) {
	// Two hubs' engines bid concurrently on one store: every ack has its own
	// version, versions are gapless, the price never goes down, and the
	// store's conflicts were retried.
	e := newEnv(t)
	e.create(nil)
	e.clk.Advance(time.Minute)
	const perHub = 40
	type ack struct {
		version int64
		amount  auction.Cents
	}
	var (
		mu   sync.Mutex
		acks []ack
		wg   sync.WaitGroup
	)
	for h := 0; h < 2; h++ {
		en := e.engine()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perHub; i++ {
				amount := auction.Cents(10000 + (h*perHub+i)*1000) // rising but interleaved
				out := apply(en, bid("u"+string(rune('a'+h)), "m"+amount.String(), `"`+amount.String()+`"`))
				if out.Reject == nil {
					mu.Lock()
					acks = append(acks, ack{out.Version, amount})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	bs := e.bids()
	if len(bs) != len(acks) {
		t.Fatalf("%d bid rows, %d acks", len(bs), len(acks))
	}
	seen := map[int64]bool{}
	for _, a := range acks {
		if seen[a.version] {
			t.Fatalf("two acks with version %d", a.version)
		}
		seen[a.version] = true
	}
	for i, b := range bs {
		if b.Version != int64(i+2) {
			t.Fatalf("bid %d has version %d", i, b.Version)
		}
		if i > 0 && b.Amount <= bs[i-1].Amount {
			t.Fatalf("price went down: %s then %s", bs[i-1].Amount, b.Amount)
		}
	}
	attempts := e.attempts("bid")
	commits := testutil.ToFloat64(e.metrics.Commits.WithLabelValues("auction", "bid", "committed")) +
		testutil.ToFloat64(e.metrics.Commits.WithLabelValues("auction", "bid", "rejected"))
	conflicts := testutil.ToFloat64(e.metrics.Conflicts.WithLabelValues("auction", "bid", txn.CodeSerialization))
	if attempts != commits+conflicts {
		t.Fatalf("attempts %v != finished %v + conflicts %v", attempts, commits, conflicts)
	}
}

// An outcome says how many transaction attempts the message made and how
// many of them conflicted: a room's activity (/debug/rooms) counts them.
func TestEngineOutcomeCountsAttemptsAndConflicts(t *testing.T) {
	e := newEnv(t)
	e.create(nil)
	en := e.engine()
	e.clk.Advance(time.Minute)
	conflicts := 2
	e.mem.KV().FailCommits(func() error {
		if conflicts > 0 {
			conflicts--
			return txn.ConflictError{Detail: "injected"}
		}
		return nil
	})
	out := apply(en, bid("bob", "b1", `"100.00"`))
	if out.Reject != nil || out.Tried != 3 || out.Retried != 2 || out.Attempts != 3 {
		t.Fatalf("outcome %+v, want 3 attempts of which 2 conflicted", out)
	}
	if again := apply(en, bid("bob", "b1", `"100.00"`)); again.Tried != 0 || again.Retried != 0 {
		t.Fatalf("a resend answered from memory counts %d attempts, want none", again.Tried)
	}
}
