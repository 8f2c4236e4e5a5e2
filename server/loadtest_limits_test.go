package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"hotrow/internal/clock"
	"hotrow/rooms/cursors"
	"hotrow/server/loadtest"
	"hotrow/txn/memstore"
)

// The load tester dials every bidder's socket from one address; a hub that
// rate-limits new sockets per address refuses some with 429 and
// Retry-After, and the load tester waits and dials again: every bidder gets
// its socket and every invariant holds.
func TestLoadTestWaitsOutTheSocketRateLimit(t *testing.T) {
	cfg := testConfig("limited")
	cfg.WSConnRate, cfg.WSConnBurst = 4, 4
	a, err := newApp(cfg, memstore.New(clock.Real{}), cursors.NewMemStore(), testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	var refused, retryAfter atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		a.handler.ServeHTTP(rec, r)
		if r.URL.Path == "/ws" && rec.status == http.StatusTooManyRequests {
			refused.Add(1)
			if w.Header().Get("Retry-After") != "" {
				retryAfter.Add(1)
			}
		}
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.shutdown(ctx)
		srv.Close()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress logWriter
	progress.t = t
	rep, err := loadtest.Run(ctx, loadtest.Config{URLs: []string{srv.URL}, Bidders: 12, BidsPerBidder: 1,
		AuctionFor: 3 * time.Second, Timeout: time.Minute, Progress: &progress, Seed: 13})
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(&progress)
	for _, c := range rep.Failed() {
		t.Errorf("invariant violated: %s: %s", c.Name, c.Detail)
	}
	// 12 sockets dialled at once against a burst of 4 and 4 a second: the
	// limit is met unless the dials arrive over more than 2s.
	if refused.Load() == 0 {
		t.Fatal("no socket was refused: the rate limit was not exercised")
	}
	if retryAfter.Load() != refused.Load() {
		t.Fatalf("%d of %d refusals had a Retry-After", retryAfter.Load(), refused.Load())
	}
	t.Logf("%d dials refused with 429 and dialled again", refused.Load())
}

// statusRecorder notes the status a handler wrote, and lets a WebSocket
// upgrade hijack the connection underneath.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
