package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotrow/hub"
	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
	"hotrow/txn/memstore"

	"github.com/prometheus/client_golang/prometheus"
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

// A socket that stops reading is closed as a slow consumer; the room and the
// other sockets never wait for it.
func TestSlowConsumerIsEvicted(t *testing.T) {
	reg := prometheus.NewRegistry()
	st := memstore.New(clock.Real{})
	runner := &txn.Runner{Metrics: txn.NewMetrics(reg)}
	log := testLogger(t)
	deps := rooms.Deps{Runner: runner, Clock: clock.Real{}, Logger: log}
	rr := rooms.NewRegistry(rooms.MustKinds(auction.RoomKind(st.Auctions(), deps)), st, reg, rooms.Config{Logger: log})
	h := hub.New(rr, reg, hub.Config{HubID: "slow", SendQueue: 8, RateLimit: 1000, RateBurst: 1000, Logger: log})
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	defer srv.Close()
	defer rr.Drain(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := auction.NewService(st.Auctions(), deps).Create(ctx, auction.CreateRequest{ID: "hot", Title: "Hot",
		StartingPrice: "1.00", Increment: "0.01"}, "test"); err != nil {
		t.Fatal(err)
	}
	base := srv.URL
	// The stuck client's own receive buffer is small too.
	dialer := &net.Dialer{}
	stuckHTTP := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}}
	stuck, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws?user=stuck", &websocket.DialOptions{HTTPClient: stuckHTTP})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.CloseNow()
	_ = stuck.Write(ctx, websocket.MessageText, []byte(`{"type":"join","room":"auction:hot"}`))
	// From here on the stuck client reads nothing.

	bidder := dialWS(t, base, "bidder")
	bidder.send(map[string]any{"type": "join", "room": "auction:hot"})
	bidder.until("joined")
	evicted := func() float64 { return counterValue(t, reg, "hotrow_ws_disconnects_total", "slow_consumer") }
	for n := 0; evicted() == 0; n++ {
		if n == 2000 {
			t.Fatalf("2000 events did not fill a stuck socket's queue of 8")
		}
		// Each bid is acked promptly: the room is not waiting on the stuck socket.
		bidder.send(map[string]any{"type": "bid", "room": "auction:hot", "id": fmt.Sprint("b", n), "amount": fmt.Sprintf("%d.%02d", (100+n)/100, (100+n)%100)})
		for {
			m := bidder.next()
			if m["type"] == "ack" || m["type"] == "reject" {
				break
			}
		}
	}
	// The stuck socket ends (after whatever its buffers held).
	for {
		if _, _, err := stuck.Read(ctx); err != nil {
			break
		}
	}
	bidder.send(map[string]any{"type": "ping", "ref": "alive"})
	if m := bidder.until("pong"); m["ref"] != "alive" {
		t.Fatalf("bidder after eviction: %v", m)
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
