package hub_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotrow/hub"
	"hotrow/internal/clock"
	"hotrow/internal/testkit"
)

// limitsHub serves a hub whose client address is the X-Addr header, so one
// test can be many clients.
func limitsHub(t *testing.T, cfg hub.Config) (string, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Now())
	w := testkit.NewWorld(t, clk)
	cfg.ClientAddr = func(r *http.Request) string { return r.Header.Get("X-Addr") }
	return w.StartHub(testkit.HubOptions{Hub: cfg}).URL, clk
}

// dialFrom opens a socket as client address addr and returns it, or the
// HTTP status that refused it.
func dialFrom(t *testing.T, url, addr string) (*websocket.Conn, int, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, testkit.WSURL(url)+"/ws?user=u", &websocket.DialOptions{HTTPHeader: http.Header{"X-Addr": {addr}}})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode, resp.Header
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws, http.StatusSwitchingProtocols, nil
}

// Sockets are capped per client address and in all.
func TestSocketCaps(t *testing.T) {
	url, _ := limitsHub(t, hub.Config{MaxConnsPerAddr: 2, MaxConns: 4, ConnRate: -1})
	a1, _, _ := dialFrom(t, url, "a")
	dialFrom(t, url, "a")
	if _, code, _ := dialFrom(t, url, "a"); code != http.StatusTooManyRequests {
		t.Fatalf("a third socket from one address: %d, want 429", code)
	}
	a1.Close(websocket.StatusNormalClosure, "")
	// The hub notices the close when the socket's handler ends.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws, code, _ := dialFrom(t, url, "a")
		if ws != nil {
			break
		}
		if code != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("after closing one: %d", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dialFrom(t, url, "b")
	dialFrom(t, url, "c")
	if _, code, _ := dialFrom(t, url, "d"); code != http.StatusServiceUnavailable {
		t.Fatalf("a socket over the hub's total: %d, want 503", code)
	}
}

// New sockets per client address are rate-limited, with Retry-After.
func TestSocketRatePerAddress(t *testing.T) {
	url, clk := limitsHub(t, hub.Config{ConnRate: 1, ConnBurst: 2})
	dialFrom(t, url, "a")
	dialFrom(t, url, "a")
	_, code, h := dialFrom(t, url, "a")
	if code != http.StatusTooManyRequests || h.Get("Retry-After") != "1" {
		t.Fatalf("a third socket at once: %d (Retry-After %q), want 429 with Retry-After 1", code, h.Get("Retry-After"))
	}
	if ws, _, _ := dialFrom(t, url, "b"); ws == nil {
		t.Fatal("another address was limited too")
	}
	clk.Advance(time.Second)
	if ws, code, _ := dialFrom(t, url, "a"); ws == nil {
		t.Fatalf("after a second: %d", code)
	}
}
