// Package ratelimit is rate limits per key (a client address):
// golang.org/x/time/rate token buckets, kept only while they matter.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed holds one token bucket per key: Rate events a second, bursts of
// Burst. A bucket that has refilled is forgotten, since a fresh one is the
// same, so the map holds only keys active within the last Burst/Rate
// seconds. A nil *Keyed allows everything. Safe for concurrent use.
type Keyed struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// New makes per-key buckets of perSecond events a second with bursts of
// burst; perSecond <= 0 means no limit (nil).
func New(perSecond float64, burst int) *Keyed {
	if perSecond <= 0 {
		return nil
	}
	return &Keyed{limit: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[string]*rate.Limiter{}}
}

// sweepEvery is how often full buckets are forgotten.
const sweepEvery = time.Minute

// Allow takes one event for key at now. When the bucket is empty it
// returns false and how long until an event would be allowed.
func (k *Keyed) Allow(key string, now time.Time) (bool, time.Duration) {
	if k == nil {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.lastSweep) >= sweepEvery {
		k.sweep(now)
	}
	l := k.buckets[key]
	if l == nil {
		l = rate.NewLimiter(k.limit, k.burst)
		k.buckets[key] = l
	}
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets the buckets that are full again.
func (k *Keyed) sweep(now time.Time) {
	k.lastSweep = now
	for key, l := range k.buckets {
		if l.TokensAt(now) >= float64(k.burst) {
			delete(k.buckets, key)
		}
	}
}

// Len reports how many keys have a bucket.
func (k *Keyed) Len() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
