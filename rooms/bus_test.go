package rooms_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotrow/rooms"
)

// memBus is an in-process rooms.Bus for these tests: it delivers each
// publish to the room's subscribers synchronously, in order, unless it is
// down (publishes fail, nothing is delivered) or holding (publishes are kept
// for the test to deliver in the order it chooses, or never).
type memBus struct {
	up   atomic.Bool
	mu   sync.Mutex
	subs map[string]map[int]func(rooms.BusEvent)
	seq  int
	hold bool
	held []rooms.BusEvent
}

func newMemBus() *memBus {
	b := &memBus{subs: map[string]map[int]func(rooms.BusEvent){}}
	b.up.Store(true)
	return b
}

func (b *memBus) Up() bool { return b.up.Load() }

func (b *memBus) PublishEvent(ev rooms.BusEvent) error {
	if !b.up.Load() {
		return errors.New("bus down")
	}
	b.mu.Lock()
	if b.hold {
		b.held = append(b.held, ev)
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	b.deliver(ev)
	return nil
}

func (b *memBus) deliver(ev rooms.BusEvent) {
	b.mu.Lock()
	var fns []func(rooms.BusEvent)
	for _, fn := range b.subs[ev.Room] {
		fns = append(fns, fn)
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}

func (b *memBus) SubscribeEvents(room string, fn func(rooms.BusEvent)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	id := b.seq
	if b.subs[room] == nil {
		b.subs[room] = map[int]func(rooms.BusEvent){}
	}
	b.subs[room][id] = fn
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[room], id)
	}, nil
}

func (b *memBus) subscribers(room string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[room])
}

func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// With a bus and no poller at all, hub A's subscriber gets every commit hub
// B makes, in order, from the bus.
func TestBusCarriesOtherHubsCommits(t *testing.T) {
	w := newWorld(t)
	w.create()
	bus := newMemBus()
	a := w.hub(rooms.Config{Bus: bus})
	b := w.hub(rooms.Config{Bus: bus})
	watcher, bidder := &sub{name: "A"}, &sub{name: "bidder"}
	join(t, a, watcher, nil)
	w.clk.Advance(time.Minute)
	for i := 0; i < 5; i++ {
		mustAck(t, bid(t, b, bidder, "bob", fmt.Sprint("m", i), fmt.Sprintf("%d.00", 100+10*i)))
	}
	waitFor(t, "A to see v6", func() bool { ev := watcher.events(); return len(ev) > 0 && ev[len(ev)-1] >= 6 })
	gapless(t, "A", watcher.events(), 2, 6)
	if got := counter(t, a.prom, "hotrow_events_delivered_total", "source", "bus"); got != 5 {
		t.Fatalf("A delivered %v events from the bus, want 5", got)
	}
	if got := counter(t, a.prom, "hotrow_events_delivered_total", "source", "log"); got != 0 {
		t.Fatalf("A read %v events from the log, want 0", got)
	}
	if got := counter(t, b.prom, "hotrow_bus_published_total", "outcome", "ok"); got != 5 {
		t.Fatalf("B published %v, want 5", got)
	}
	if got := counter(t, b.prom, "hotrow_events_delivered_total", "source", "commit"); got != 5 {
		t.Fatalf("B delivered %v of its own commits, want 5", got)
	}
	// A's engine followed along from the bus: a bid below B's price is
	// early-rejected with the true minimum.
	if r := bid(t, a, bidder, "carol", "low", "140.00"); r.Type != "reject" || r.Reason != "bid_too_low" || r.Min != "145.00" {
		t.Fatalf("%+v", r)
	}
}

// Events that arrive out of order, twice, or after the log already gave
// them are delivered once each, in version order; one that arrives ahead
// makes the room read the missing ones from the log first.
func TestBusOutOfOrderAndDuplicates(t *testing.T) {
	w := newWorld(t)
	w.create()
	bus := newMemBus()
	a := w.hub(rooms.Config{Bus: bus})
	b := w.hub(rooms.Config{})
	watcher, bidder := &sub{name: "A"}, &sub{name: "bidder"}
	join(t, a, watcher, nil)
	w.clk.Advance(time.Minute)
	// B has no bus: its commits are published by hand below.
	var evs []rooms.BusEvent
	for i := 0; i < 4; i++ {
		ack := mustAck(t, bid(t, b, bidder, "bob", fmt.Sprint("m", i), fmt.Sprintf("%d.00", 100+10*i)))
		evs = append(evs, busEventFor(t, w, ack.Version))
	} // v2..v5
	bus.deliver(evs[1]) // v3 ahead: v2 comes from the log first
	waitFor(t, "v3", func() bool { return len(watcher.events()) == 2 })
	bus.deliver(evs[0]) // v2 again
	bus.deliver(evs[1]) // v3 again
	bus.deliver(evs[3]) // v5 ahead: v4 from the log
	bus.deliver(evs[2]) // v4 again
	waitFor(t, "v5", func() bool { return len(watcher.events()) == 4 })
	gapless(t, "A", watcher.events(), 2, 5)
	if got := counter(t, a.prom, "hotrow_bus_gap_fills_total"); got != 2 {
		t.Fatalf("gap fills %v, want 2", got)
	}
	waitFor(t, "the duplicates counted", func() bool {
		return counter(t, a.prom, "hotrow_bus_received_total", "outcome", "duplicate") == 3
	})
	if got := counter(t, a.prom, "hotrow_bus_received_total", "outcome", "delivered"); got != 2 {
		t.Fatalf("delivered from the bus %v, want 2 (v3, v5)", got)
	}
	if got := counter(t, a.prom, "hotrow_events_delivered_total", "source", "log"); got != 2 {
		t.Fatalf("from the log %v, want 2 (v2, v4)", got)
	}
	// A malformed frame is dropped and counted.
	bad := evs[3]
	bad.Version = 6
	bus.deliver(bad)
	waitFor(t, "malformed counted", func() bool {
		return counter(t, a.prom, "hotrow_bus_received_total", "outcome", "malformed") == 1
	})
	gapless(t, "A", watcher.events(), 2, 5)
}

// busEventFor builds the bus message a publishing hub would send for
// version v of the room, from the log.
func busEventFor(t *testing.T, w *world, v int64) rooms.BusEvent {
	t.Helper()
	evs, err := w.Store.EventsAfter(context.Background(), room, v-1, v)
	if err != nil || len(evs) != 1 {
		t.Fatalf("event v%d: %v %v", v, evs, err)
	}
	return rooms.BusEvent{Room: room, Version: v, Frame: evs[0].Frame(), Sent: w.clk.Now()}
}

// While the bus is up the poller runs at the slow interval only, so an
// event the bus lost waits for it; while the bus is down it polls at the
// fast interval and keeps the room current; back up, it slows down again.
func TestPollingFollowsTheBus(t *testing.T) {
	w := newWorld(t)
	w.create()
	bus := newMemBus()
	bus.hold = true // the bus loses every event
	log := &countingLog{Log: w.Store}
	a := rooms.NewRegistry(w.Kinds(w.Deps(nil)), log, prometheus.NewRegistry(), rooms.Config{Bus: bus,
		PollInterval: 2 * time.Millisecond, BusPollInterval: time.Hour, IdleTimeout: time.Hour, Clock: w.clk, Logger: quiet})
	b := w.hub(rooms.Config{Bus: bus})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = a.Drain(context.Background())
	})

	watcher, bidder := &sub{name: "A"}, &sub{name: "bidder"}
	if err := a.Join(context.Background(), room, watcher, nil, "j", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "joined", func() bool { _, ok := watcher.find("joined", ""); return ok })
	time.Sleep(30 * time.Millisecond) // many fast ticks
	before := log.versions.Load()
	time.Sleep(30 * time.Millisecond)
	if n := log.versions.Load() - before; n != 0 {
		t.Fatalf("%d polls while the bus was up, want none before BusPollInterval", n)
	}
	w.clk.Advance(time.Minute)
	mustAck(t, bid(t, b, bidder, "bob", "b1", "100.00")) // lost by the bus
	time.Sleep(30 * time.Millisecond)
	if ev := watcher.events(); len(ev) != 0 {
		t.Fatalf("A saw %v although the bus lost it and polling is slow", ev)
	}

	bus.up.Store(false)
	waitFor(t, "the poll to bring v2 while the bus is down", func() bool { return len(watcher.events()) == 1 })
	bus.up.Store(true)
	time.Sleep(30 * time.Millisecond) // back to the slow interval
	mustAck(t, bid(t, b, bidder, "bob", "b2", "110.00"))
	time.Sleep(30 * time.Millisecond)
	if ev := watcher.events(); len(ev) != 1 {
		t.Fatalf("A saw %v: polling did not slow down again with the bus back", ev)
	}
	// Its next commit (or the slow poll) brings the lost event.
	mustAck(t, bid(t, &hub{Registry: a}, bidder, "carol", "c1", "120.00"))
	gapless(t, "A", watcher.events(), 2, 4)
}

// A room subscribes on the bus with its first subscriber and unsubscribes
// when it retires.
func TestBusSubscriptionFollowsTheRoom(t *testing.T) {
	w := newWorld(t)
	w.create()
	bus := newMemBus()
	a := w.hub(rooms.Config{Bus: bus, IdleTimeout: 30 * time.Second})
	if _, _, err := a.Snapshot(context.Background(), room); err != nil {
		t.Fatal(err)
	}
	if n := bus.subscribers(room); n != 0 {
		t.Fatalf("%d subscriptions for a room with no subscriber", n)
	}
	s1, s2 := &sub{name: "s1"}, &sub{name: "s2"}
	join(t, a, s1, nil)
	join(t, a, s2, nil)
	if n := bus.subscribers(room); n != 1 {
		t.Fatalf("%d subscriptions with two subscribers, want 1", n)
	}
	for _, s := range []*sub{s1, s2} {
		if err := a.Leave(context.Background(), room, s, "", false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "idle timer", func() bool { return w.clk.Timers() == 2 })
	w.clk.Advance(30 * time.Second)
	waitFor(t, "retire", func() bool { return a.Live() == 0 })
	if n := bus.subscribers(room); n != 0 {
		t.Fatalf("%d subscriptions after the room retired", n)
	}
}

// A room whose subscribers left retires on time even while other hubs keep
// committing to it over the bus, and unsubscribes.
func TestBusTrafficDoesNotKeepAnUnwatchedRoom(t *testing.T) {
	w := newWorld(t)
	w.create()
	bus := newMemBus()
	a := w.hub(rooms.Config{Bus: bus, IdleTimeout: 30 * time.Second})
	b := w.hub(rooms.Config{Bus: bus})
	s, bidder := &sub{name: "s"}, &sub{name: "bidder"}
	join(t, a, s, nil)
	if err := a.Leave(context.Background(), room, s, "", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "idle timer", func() bool { return w.clk.Timers() == 2 })
	w.clk.Advance(20 * time.Second)
	mustAck(t, bid(t, b, bidder, "bob", "b1", "100.00")) // reaches A's room on the bus
	waitFor(t, "A to take v2 from the bus", func() bool {
		return counter(t, a.prom, "hotrow_bus_received_total", "outcome", "delivered") == 1
	})
	w.clk.Advance(10 * time.Second) // 30s after the leave
	waitFor(t, "retire", func() bool { return a.Live() == 0 })
	if n := bus.subscribers(room); n != 0 {
		t.Fatalf("%d subscriptions after the room retired", n)
	}
}
