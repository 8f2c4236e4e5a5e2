package txn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"hotrow/internal/clock"
)

// rejection is a Rejection like the rooms package returns.
type rejection struct{ reason string }

func (r *rejection) Error() string        { return "rejected: " + r.reason }
func (r *rejection) RejectReason() string { return r.reason }

// wrap buries err three %w levels deep, as stores and rooms do.
func wrap(err error) error {
	return fmt.Errorf("store: bid: %w", fmt.Errorf("commit: %w", fmt.Errorf("exec: %w", err)))
}

// sleepClock is a Clock whose timers fire at once; it records every requested
// sleep and moves its Now forward by it, so Run's duration is the sum of the
// back-offs and no test sleeps for real.
type sleepClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newSleepClock() *sleepClock {
	return &sleepClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *sleepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sleepClock) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	t := firedTimer{c: make(chan time.Time, 1)}
	t.c <- c.now
	return t
}

func (c *sleepClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

type firedTimer struct{ c chan time.Time }

func (t firedTimer) C() <-chan time.Time { return t.c }
func (t firedTimer) Stop() bool          { return false }

// script returns an attempt function that returns errs in order (nil commits)
// and counts its calls; calls past the end of errs commit.
func script(errs ...error) (attempt func(context.Context) error, calls func() int) {
	var mu sync.Mutex
	n := 0
	attempt = func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n <= len(errs) {
			return errs[n-1]
		}
		return nil
	}
	calls = func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
	return attempt, calls
}

// logRecorder is a slog.Handler that keeps every record's level.
type logRecorder struct {
	mu     sync.Mutex
	levels []slog.Level
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.levels = append(h.levels, r.Level)
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

func (h *logRecorder) Levels() []slog.Level {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Level(nil), h.levels...)
}

// countedSeries is how many of c's counter series are above zero (series
// declared at zero, see Metrics.declare, are not counted).
func countedSeries(t testing.TB, c prometheus.Collector) int {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		if pb.GetCounter().GetValue() > 0 {
			n++
		}
	}
	return n
}
