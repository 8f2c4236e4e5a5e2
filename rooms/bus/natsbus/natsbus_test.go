package natsbus_test

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotrow/internal/testnats"
	"hotrow/rooms"
	"hotrow/rooms/bus/natsbus"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// inbox collects what a subscription receives.
type inbox struct {
	mu  sync.Mutex
	evs []rooms.BusEvent
}

func (in *inbox) add(ev rooms.BusEvent) {
	in.mu.Lock()
	in.evs = append(in.evs, ev)
	in.mu.Unlock()
}

func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.evs)
}

func (in *inbox) all() []rooms.BusEvent {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]rooms.BusEvent(nil), in.evs...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func connect(t *testing.T, cfg natsbus.Config) *natsbus.Bus {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	if cfg.ReconnectWait == 0 {
		cfg.ReconnectWait = 20 * time.Millisecond
	}
	b, err := natsbus.Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// flush makes sure the server has every subscription b sent.
func settle(t *testing.T, ns *testnats.Server, subs uint32) {
	t.Helper()
	waitFor(t, "the subscriptions to reach the server", func() bool { return ns.Subscriptions() >= subs })
}

// An event published by one hub reaches the other hub's subscription to
// that room, frame and headers intact, and no other room's.
func TestEventsBetweenTwoHubs(t *testing.T) {
	ns := testnats.Start(t, nil)
	reg := prometheus.NewRegistry()
	a := connect(t, natsbus.Config{URL: ns.URL(), Name: "a", Registerer: reg})
	b := connect(t, natsbus.Config{URL: ns.URL(), Name: "b"})
	if !a.Up() || !strings.HasPrefix(a.Status(), "connected to nats://127.0.0.1:") {
		t.Fatalf("up %v, status %q", a.Up(), a.Status())
	}
	var got, other inbox
	base := ns.Subscriptions()
	cancel, err := a.SubscribeEvents("auction:x", got.add)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SubscribeEvents("auction:y", other.add); err != nil {
		t.Fatal(err)
	}
	settle(t, ns, base+2)
	sent := time.Unix(1700000000, 123456789)
	for v := int64(1); v <= 3; v++ {
		if err := b.PublishEvent(rooms.BusEvent{Room: "auction:x", Version: v, Frame: []byte(`{"v":` + string(rune('0'+v)) + `}`), Sent: sent}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three events", func() bool { return got.len() == 3 })
	for i, ev := range got.all() {
		v := int64(i + 1)
		if ev.Room != "auction:x" || ev.Version != v || string(ev.Frame) != `{"v":`+string(rune('0'+v))+`}` || !ev.Sent.Equal(sent) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if other.len() != 0 {
		t.Fatalf("another room got %v", other.all())
	}
	if n := testutil.ToFloat64(counterVec(t, reg, "hotrow_bus_messages_received_total")); n != 3 {
		t.Fatalf("received counter %v", n)
	}
	// Unsubscribed: nothing more arrives.
	cancel()
	waitFor(t, "the unsubscription", func() bool { return ns.Subscriptions() == base+1 })
	if err := b.PublishEvent(rooms.BusEvent{Room: "auction:x", Version: 4, Frame: []byte(`{}`), Sent: sent}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if got.len() != 3 {
		t.Fatalf("got %d events after unsubscribing", got.len())
	}
	if err := b.PublishEvent(rooms.BusEvent{Room: "auction:a.b", Version: 1}); err == nil {
		t.Fatal("a room name with a dot was published")
	}
}

// counterVec sums a counter family.
func counterVec(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sum"})
	c.Add(sum)
	return c
}

// NATS stopped and started again: the bus says it is down meanwhile,
// reconnects by itself with its subscriptions, and carries events again.
// A hub started while NATS is down starts all the same and connects later.
func TestRestartAndLateStart(t *testing.T) {
	ns := testnats.Start(t, nil)
	reg := prometheus.NewRegistry()
	a := connect(t, natsbus.Config{URL: ns.URL(), Registerer: reg})
	b := connect(t, natsbus.Config{URL: ns.URL()})
	var got inbox
	base := ns.Subscriptions()
	if _, err := a.SubscribeEvents("schema:s", got.add); err != nil {
		t.Fatal(err)
	}
	settle(t, ns, base+1)
	publish := func(v int64) {
		t.Helper()
		if err := b.PublishEvent(rooms.BusEvent{Room: "schema:s", Version: v, Frame: []byte("{}"), Sent: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	publish(1)
	waitFor(t, "v1", func() bool { return got.len() == 1 })

	ns.Stop()
	waitFor(t, "the bus to notice", func() bool { return !a.Up() && !b.Up() })
	if s := a.Status(); !strings.Contains(s, "reconnecting") {
		t.Fatalf("status while down: %q", s)
	}
	if v := testutil.ToFloat64(gauge(t, reg, "hotrow_bus_up")); v != 0 {
		t.Fatalf("hotrow_bus_up %v while down", v)
	}
	ns.Restart()
	waitFor(t, "both to reconnect", func() bool { return a.Up() && b.Up() })
	settle(t, ns, base+1)
	publish(2)
	waitFor(t, "v2 after the restart", func() bool { return got.len() >= 2 })
	if ev := got.all()[len(got.all())-1]; ev.Version != 2 {
		t.Fatalf("last event v%d", ev.Version)
	}
	if n := testutil.ToFloat64(counterVec(t, reg, "hotrow_bus_reconnects_total")); n < 1 {
		t.Fatalf("reconnects %v", n)
	}

	// A hub whose NATS is not there yet.
	ns.Stop()
	late := connect(t, natsbus.Config{URL: ns.URL()})
	if late.Up() {
		t.Fatal("up without a server")
	}
	ns.Restart()
	waitFor(t, "the late hub to connect", late.Up)
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"})
	for _, mf := range mfs {
		if mf.GetName() == name {
			g.Set(mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	return g
}

// Cursor batches travel on their own subjects.
func TestCursorBatches(t *testing.T) {
	ns := testnats.Start(t, nil)
	a := connect(t, natsbus.Config{URL: ns.URL(), SubjectPrefix: "prod"})
	b := connect(t, natsbus.Config{URL: ns.URL(), SubjectPrefix: "prod"})
	other := connect(t, natsbus.Config{URL: ns.URL(), SubjectPrefix: "staging"})
	var mu sync.Mutex
	var got []string
	base := ns.Subscriptions()
	if _, err := a.SubscribeCursors("schema:s", func(p []byte) { mu.Lock(); got = append(got, string(p)); mu.Unlock() }); err != nil {
		t.Fatal(err)
	}
	var evs inbox
	if _, err := a.SubscribeEvents("schema:s", evs.add); err != nil {
		t.Fatal(err)
	}
	settle(t, ns, base+2)
	if err := other.PublishCursors("schema:s", []byte("staging")); err != nil {
		t.Fatal(err)
	}
	if err := b.PublishCursors("schema:s", []byte("batch")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the batch", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "batch" || evs.len() != 0 {
		t.Fatalf("cursors %v, events %d", got, evs.len())
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]natsbus.Config{
		"no url":             {},
		"bad prefix":         {URL: "nats://127.0.0.1:1", SubjectPrefix: "a.b"},
		"missing nkey file":  {URL: "nats://127.0.0.1:1", NKeyFile: "/nonexistent/seed"},
		"cert without key":   {URL: "nats://127.0.0.1:1", TLSCertFile: "c.pem"},
		"missing creds file": {URL: "nats://127.0.0.1:1", CredsFile: "/nonexistent/x.creds"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Logger = quiet
			b, err := natsbus.Connect(cfg)
			if err == nil {
				b.Close()
				t.Fatal("no error")
			}
		})
	}
}
