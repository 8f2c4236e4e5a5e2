package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"hotrow/internal/clock"
	"hotrow/internal/testpg"
	"hotrow/rooms/cursors"
	"hotrow/txn/memstore"
	"hotrow/txn/pgstore"
)

// runMainEnv makes the test binary run as the hotrow command (its
// arguments after the binary's name), so tests can start hotrow processes
// without building one.
const runMainEnv = "HOTROW_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(testpg.Run(m))
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func testConfig(hubID string) config {
	return config{HubID: hubID, MaxAttempts: 10, PollInterval: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second}
}

// testHub is one hub process on an httptest server.
type testHub struct {
	app *app
	srv *httptest.Server
	url string
}

func startHub(t testing.TB, st store, hubID string) *testHub {
	t.Helper()
	return startHubWith(t, st, cursors.NewMemStore(), hubID, nil)
}

// startHubWith starts a hub on st and cs, its test configuration changed by
// mut (may be nil).
func startHubWith(t testing.TB, st store, cs cursors.Store, hubID string, mut func(*config)) *testHub {
	t.Helper()
	cfg := testConfig(hubID)
	if mut != nil {
		mut(&cfg)
	}
	a, err := newApp(cfg, st, cs, testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	return serveApp(t, a)
}

// serveApp serves a on an httptest server, shut down when the test ends.
func serveApp(t testing.TB, a *app) *testHub {
	t.Helper()
	// As serve does: sockets answered at the listener, the rest by net/http.
	srv := httptest.NewUnstartedServer(a.handler)
	srv.Listener = a.hub.Listener(srv.Listener, "/ws", 10*time.Second)
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.shutdown(ctx)
		srv.Close()
	})
	return &testHub{app: a, srv: srv, url: srv.URL}
}

// memHub is a hub on the embedded store.
func memHub(t testing.TB) *testHub { return startHub(t, memstore.New(clock.Real{}), "mem") }

// pgStore opens a fresh, migrated PostgreSQL database.
func pgStore(t testing.TB, dsn string) *pgstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func createAuction(t testing.TB, base string, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(base+"/api/auctions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create auction: %s %v", resp.Status, m)
	}
	return m
}

func getJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

// counter sums a counter family (all label sets matching labels) in a's registry.
func counterSum(t testing.TB, a *app, name string) float64 {
	t.Helper()
	mfs, err := a.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// metricValue is the value of the counter or gauge name{labels} in a's
// registry (0 when there is no such series).
func metricValue(t testing.TB, a *app, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := a.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func jsonNewDecoder(resp *http.Response) *json.Decoder { return json.NewDecoder(resp.Body) }
