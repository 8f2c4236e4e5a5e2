package txn

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestDefaultPolicy(t *testing.T) {
	want := Policy{MaxAttempts: 10, BaseDelay: 2 * time.Millisecond, MaxDelay: 250 * time.Millisecond, AttemptTimeout: 5 * time.Second}
	if got := DefaultPolicy(); got != want {
		t.Errorf("DefaultPolicy() = %+v, want %+v", got, want)
	}
	if got := (Policy{}).withDefaults(); got != want {
		t.Errorf("zero Policy with defaults = %+v, want %+v", got, want)
	}
	if got := (Policy{MaxAttempts: 3}).withDefaults().MaxAttempts; got != 3 {
		t.Errorf("MaxAttempts 3 became %d", got)
	}
}

func TestBackoffCeiling(t *testing.T) {
	p := DefaultPolicy()
	ms := time.Millisecond
	cases := []struct {
		retry int
		slow  bool
		want  time.Duration
	}{
		{1, false, 2 * ms},
		{2, false, 4 * ms},
		{3, false, 8 * ms},
		{4, false, 16 * ms},
		{5, false, 32 * ms},
		{6, false, 64 * ms},
		{7, false, 128 * ms},
		{8, false, 250 * ms}, // 256ms capped
		{9, false, 250 * ms},
		{1000, false, 250 * ms}, // no overflow
		{1, true, 250 * ms},     // slow: the cap from the first retry
		{5, true, 250 * ms},
	}
	for _, tc := range cases {
		if got := p.ceiling(tc.retry, tc.slow); got != tc.want {
			t.Errorf("ceiling(%d, slow=%v) = %v, want %v", tc.retry, tc.slow, got, tc.want)
		}
	}
}

func TestBackoffFullJitter(t *testing.T) {
	p := DefaultPolicy()
	ms := time.Millisecond
	cases := []struct {
		retry int
		slow  bool
		u     float64
		want  time.Duration
	}{
		{1, false, 0, 0},
		{1, false, 0.5, 1 * ms},
		{3, false, 0.25, 2 * ms},
		{8, false, 0.5, 125 * ms},
		{1, true, 0.5, 125 * ms},
		{4, false, -1, 0}, // out of range is clamped
	}
	for _, tc := range cases {
		if got := p.backoff(tc.retry, tc.slow, tc.u); got != tc.want {
			t.Errorf("backoff(%d, slow=%v, u=%v) = %v, want %v", tc.retry, tc.slow, tc.u, got, tc.want)
		}
	}
	// Near 1 and past it stay below the ceiling.
	for _, u := range []float64{0.999999, 1, 7} {
		if got := p.backoff(2, false, u); got >= 4*ms || got < 3*ms {
			t.Errorf("backoff(2, u=%v) = %v, want in [3ms, 4ms)", u, got)
		}
	}
	// Any draw is within [0, ceiling) and the cap is never exceeded.
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		retry := 1 + r.IntN(20)
		slow := r.IntN(2) == 0
		d := p.backoff(retry, slow, r.Float64())
		if d < 0 || d >= p.ceiling(retry, slow) || d > p.MaxDelay {
			t.Fatalf("backoff(%d, %v) = %v out of [0, %v)", retry, slow, d, p.ceiling(retry, slow))
		}
	}
}
