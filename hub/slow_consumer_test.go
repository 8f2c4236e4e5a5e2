package hub_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"hotrow/hub"
	"hotrow/internal/testkit"
	"hotrow/rooms/auction"
)

// smallBuffers shrinks a TCP socket's kernel buffers so that a reader that
// stops reading fills them after a few frames, not megabytes.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// stuckHub serves a hub with cfg over the embedded store, with small socket
// buffers and the live auction auction:hot; it returns the hub's base URL
// and its metrics.
func stuckHub(t *testing.T, cfg hub.Config) (string, *prometheus.Registry) {
	t.Helper()
	w := testkit.NewWorld(t, nil)
	cfg.RateLimit, cfg.RateBurst = 1000, 1000
	h := w.StartHub(testkit.HubOptions{Hub: cfg, Listener: func(l net.Listener) net.Listener { return smallBuffers{l} }})
	w.Auction(auction.CreateRequest{ID: "hot", Title: "Hot", StartingPrice: "1.00", Increment: "0.01"})
	return testkit.WSURL(h.URL), h.Metrics
}

// dialStuck joins auction:hot over a socket with a small receive buffer and
// then reads nothing.
func dialStuck(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url+"/ws?user=stuck", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"join","room":"auction:hot"}`)); err != nil {
		t.Fatal(err)
	}
	return ws
}

// bidUntil bids on auction:hot, one acknowledged bid at a time, until done
// reports true; every bid is answered promptly, whatever the stuck socket
// does. It fails after max bids.
func bidUntil(t *testing.T, bidder *testkit.Client, limit int, what string, done func() bool) {
	t.Helper()
	for n := 0; !done(); n++ {
		if n == limit {
			t.Fatalf("%d events: %s did not happen", limit, what)
		}
		id := fmt.Sprint("b", n)
		bidder.Send(map[string]any{"type": "bid", "room": "auction:hot", "id": id, "amount": fmt.Sprintf("%d.%02d", (100+n)/100, (100+n)%100)})
		bidder.Await("the bid's answer", func(m map[string]any) bool {
			return (m["type"] == "ack" || m["type"] == "reject") && m["id"] == id
		})
	}
}

// readToEnd reads the stuck socket until it ends and returns its close code
// (-1 when the connection dropped without one).
func readToEnd(t *testing.T, ws *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the stuck socket was not closed")
			}
			return websocket.CloseStatus(err)
		}
	}
}

// A socket that stops reading is closed as a slow consumer (1008), counted
// once; the room and the other sockets never wait for it.
func TestSlowConsumerIsEvicted(t *testing.T) {
	url, reg := stuckHub(t, hub.Config{HubID: "slow", SendQueue: 8, WriteTimeout: time.Minute})
	stuck := dialStuck(t, url)
	bidder := testkit.Dial(t, url, "bidder")
	bidder.Send(map[string]any{"type": "join", "room": "auction:hot"})
	bidder.Await("joined", func(m map[string]any) bool { return m["type"] == "joined" })

	evicted := func() float64 { return counterValue(t, reg, "hotrow_ws_disconnects_total", "slow_consumer") }
	bidUntil(t, bidder, 2000, "filling a stuck socket's queue of 8", func() bool { return evicted() > 0 })

	// The stuck socket ends (after whatever its buffers held) with 1008.
	if code := readToEnd(t, stuck); code != websocket.StatusPolicyViolation {
		t.Errorf("stuck socket closed with %d, want 1008", code)
	}
	bidder.Send(map[string]any{"type": "ping", "ref": "alive"})
	bidder.Await("pong", func(m map[string]any) bool { return m["type"] == "pong" && m["ref"] == "alive" })
	if n := evicted(); n != 1 {
		t.Errorf("slow_consumer counted %v times, want 1", n)
	}
	for _, reason := range []string{"client", "error"} {
		if n := counterValue(t, reg, "hotrow_ws_disconnects_total", reason); n != 0 {
			t.Errorf("the eviction was counted again as %s: %v", reason, n)
		}
	}
}

// A socket whose write times out, long before its queue fills, is closed and
// counted as an error, once.
func TestWriteTimeoutIsCountedAsError(t *testing.T) {
	url, reg := stuckHub(t, hub.Config{HubID: "timeout", SendQueue: 1 << 20, SendQueueBytes: 1 << 30,
		WriteTimeout: 100 * time.Millisecond})
	stuck := dialStuck(t, url)
	bidder := testkit.Dial(t, url, "bidder")
	bidder.Send(map[string]any{"type": "join", "room": "auction:hot"})
	bidder.Await("joined", func(m map[string]any) bool { return m["type"] == "joined" })

	failed := func() float64 { return counterValue(t, reg, "hotrow_ws_disconnects_total", "error") }
	bidUntil(t, bidder, 5000, "a timed-out write to a stuck socket", func() bool { return failed() > 0 })
	readToEnd(t, stuck)
	bidder.Send(map[string]any{"type": "ping", "ref": "alive"})
	bidder.Await("pong", func(m map[string]any) bool { return m["type"] == "pong" && m["ref"] == "alive" })
	for reason, want := range map[string]float64{"error": 1, "client": 0, "slow_consumer": 0} {
		if n := counterValue(t, reg, "hotrow_ws_disconnects_total", reason); n != want {
			t.Errorf("disconnects{%s} = %v, want %v", reason, n, want)
		}
	}
}

// counterValue sums the series of a counter family in reg whose labels
// include the given value.
func counterValue(t testing.TB, reg prometheus.Gatherer, name, labelValue string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	v := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == labelValue {
					v += m.GetCounter().GetValue()
				}
			}
		}
	}
	return v
}
