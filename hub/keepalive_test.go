package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotrow/hub"
	"hotrow/internal/clock"
	"hotrow/internal/testkit"
)

// A socket whose client stops answering is closed and counted within
// PingInterval + PongWait; one that answers stays open. Time is the hub's
// fake clock, stepped one keepalive tick at a time.
func TestKeepaliveClosesSilentPeer(t *testing.T) {
	const interval, wait = 10 * time.Second, 5 * time.Second
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f := clock.NewFake(start)
	w := testkit.NewWorld(t, f)
	h := w.StartHub(testkit.HubOptions{Hub: hub.Config{HubID: "ka", PingInterval: interval, PongWait: wait}})

	// alive reads all the time (so coder/websocket answers pings) and,
	// at each ping, also sends a message and waits for its answer: the hub
	// has then heard from it before the test moves time on.
	pinged := make(chan struct{}, 8)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	alive, _, err := websocket.Dial(ctx, testkit.WSURL(h.URL)+"/ws?user=alive", &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pinged <- struct{}{}; return true }})
	if err != nil {
		t.Fatal(err)
	}
	defer alive.CloseNow()
	frames := make(chan []byte, 64)
	go func() {
		for {
			_, b, err := alive.Read(ctx)
			if err != nil {
				close(frames)
				return
			}
			frames <- b
		}
	}()
	<-frames // welcome
	// silent reads nothing: it never sees the ping, so never answers.
	silent := testkit.Dial(t, h.URL, "silent")
	_ = silent

	noPong := func() float64 { return counterValue(t, h.Metrics, "hotrow_ws_disconnects_total", "keepalive") }
	tick := min(interval, wait) / 8
	var closedAt time.Duration
	for elapsed := time.Duration(0); elapsed <= interval+wait+tick; elapsed += tick {
		waitFor(t, "the keepalive goroutine to wait again", func() bool { return f.Timers() >= 1 })
		f.Advance(tick)
		waitFor(t, "the keepalive goroutine to look at the sockets", func() bool { return f.Timers() >= 1 })
		select {
		case <-pinged:
			if err := alive.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","ref":"here"}`)); err != nil {
				t.Fatal(err)
			}
			for b := range frames {
				if string(b) == `{"type":"pong","ref":"here"}` {
					break
				}
			}
		default:
		}
		if closedAt == 0 && noPong() > 0 {
			closedAt = elapsed + tick
		}
	}
	switch {
	case closedAt == 0:
		t.Fatalf("the silent socket was not closed within %v", interval+wait)
	case closedAt > interval+wait:
		t.Fatalf("the silent socket was closed after %v, want within %v", closedAt, interval+wait)
	case closedAt < wait:
		t.Fatalf("the silent socket was closed after %v, before any ping could have waited %v", closedAt, wait)
	}
	if n := noPong(); n != 1 {
		t.Fatalf("keepalive disconnects = %v, want 1 (the answering socket must stay)", n)
	}
	waitFor(t, "the silent socket to be gone", func() bool { return h.Hub.Connections() == 1 })
	if err := alive.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","ref":"still"}`)); err != nil {
		t.Fatalf("the answering socket was closed: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
