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

	"github.com/coder/websocket"

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
	a := newApp(testConfig(hubID), st, cursors.NewMemStore(), testLogger(t), clock.Real{})
	srv := httptest.NewServer(a.handler)
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

// wsClient is a test socket that reads frames on demand.
type wsClient struct {
	t    testing.TB
	ws   *websocket.Conn
	seen []map[string]any // every frame read, in order
}

// events returns the event frames read so far.
func (c *wsClient) events() []map[string]any {
	var out []map[string]any
	for _, m := range c.seen {
		if m["type"] == "event" {
			out = append(out, m)
		}
	}
	return out
}

func dialWS(t testing.TB, base, user string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws?user=" + user
	ws, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	ws.SetReadLimit(1 << 20)
	c := &wsClient{t: t, ws: ws}
	t.Cleanup(func() { ws.CloseNow() })
	if w := c.next(); w["type"] != "welcome" || w["user"] != user {
		t.Fatalf("first frame = %v, want welcome for %s", w, user)
	}
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads one frame (10s bound).
func (c *wsClient) next() map[string]any {
	c.t.Helper()
	m, err := c.read(10 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

func (c *wsClient) read(d time.Duration) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("server sent invalid JSON %q: %v", b, err)
	}
	c.seen = append(c.seen, m)
	return m, nil
}

// until reads frames until one of type typ arrives, returning it.
func (c *wsClient) until(typ string) map[string]any {
	c.t.Helper()
	for i := 0; i < 10000; i++ {
		if m := c.next(); m["type"] == typ {
			return m
		}
	}
	c.t.Fatalf("no %s frame", typ)
	return nil
}

// closeCode waits for the server to close the socket and returns the code.
func (c *wsClient) closeCode() websocket.StatusCode {
	c.t.Helper()
	for {
		if _, err := c.read(10 * time.Second); err != nil {
			return websocket.CloseStatus(err)
		}
	}
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

func jsonNewDecoder(resp *http.Response) *json.Decoder { return json.NewDecoder(resp.Body) }
