package txn

import (
	"math"
	"time"
)

// Policy bounds a [Runner]'s retries. Zero fields take their defaults.
type Policy struct {
	MaxAttempts    int           // attempts in all, including the first; default 10
	BaseDelay      time.Duration // ceiling of the first back-off; default 2ms
	MaxDelay       time.Duration // cap on every back-off; default 250ms
	AttemptTimeout time.Duration // context deadline of each attempt; default 5s
}

// DefaultPolicy returns the defaults: 10 attempts, 2ms base, 250ms cap, 5s per attempt.
func DefaultPolicy() Policy {
	return Policy{
		MaxAttempts:    10,
		BaseDelay:      2 * time.Millisecond,
		MaxDelay:       250 * time.Millisecond,
		AttemptTimeout: 5 * time.Second,
	}
}

// withDefaults fills zero (or negative) fields from DefaultPolicy.
func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.BaseDelay > p.MaxDelay {
		p.BaseDelay = p.MaxDelay
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = d.AttemptTimeout
	}
	return p
}

// ceiling is the upper bound of the back-off before retry number retry
// (1 for the first retry): min(MaxDelay, BaseDelay * 2^(retry-1)), or MaxDelay
// itself when slow (the database asked us to slow down, 53400). p must have
// its defaults filled.
func (p Policy) ceiling(retry int, slow bool) time.Duration {
	if slow {
		return p.MaxDelay
	}
	d := p.BaseDelay
	for i := 1; i < retry && d < p.MaxDelay; i++ {
		d *= 2 // d < MaxDelay here, so this cannot overflow before the cap
	}
	return min(d, p.MaxDelay)
}

// backoff is the full-jitter sleep before retry number retry: u * ceiling,
// with u drawn uniformly from [0,1) (clamped into it).
func (p Policy) backoff(retry int, slow bool, u float64) time.Duration {
	if u < 0 || math.IsNaN(u) {
		u = 0
	}
	if u >= 1 {
		u = 0.9999999999
	}
	return time.Duration(u * float64(p.ceiling(retry, slow)))
}
