package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A hub that refuses a new socket for now (429 or 503) is dialled again
// after its Retry-After, until it takes it.
func TestDialWaitsOutRefusals(t *testing.T) {
	var tries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch tries.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		case 2:
			http.Error(w, "full", http.StatusServiceUnavailable)
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		_ = writeFrame(r.Context(), ws, map[string]any{"type": "welcome", "hub": "h1"})
		_, _, _ = ws.Read(r.Context())
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	ws, hub, err := dialPatiently(ctx, srv.URL, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if hub != "h1" || tries.Load() != 3 {
		t.Fatalf("hub %q after %d tries, want h1 after 3", hub, tries.Load())
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("dialled again after %s: the Retry-After of 1s was not honoured", took)
	}
}

// A refusal that does not end stops at the context's end, saying why.
func TestDialGivesUpWithTheContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "full", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, _, err := dialPatiently(ctx, srv.URL, "alice"); err == nil {
		t.Fatal("dialled a hub that refuses every socket")
	}
}
