package hub

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"hotrow/internal/ratelimit"
)

// admission decides whether a new socket may open: at most ConnRate new
// sockets a second per client address (bursts of ConnBurst), at most
// MaxConnsPerAddr open per address and MaxConns in all.
type admission struct {
	rate           *ratelimit.Keyed
	max, maxPerKey int

	mu    sync.Mutex
	total int
	byKey map[string]int
}

func newAdmission(cfg Config) *admission {
	return &admission{rate: ratelimit.New(cfg.ConnRate, cfg.ConnBurst), max: cfg.MaxConns,
		maxPerKey: cfg.MaxConnsPerAddr, byKey: map[string]int{}}
}

// refusal is why a socket was not admitted: the HTTP status and message,
// and for a rate limit how long to wait.
type refusal struct {
	status     int
	msg        string
	retryAfter time.Duration
}

// admit counts a new socket from addr, or says why not; release uncounts an
// admitted socket when it ends.
func (a *admission) admit(addr string, now time.Time) *refusal {
	if ok, wait := a.rate.Allow(addr, now); !ok {
		return &refusal{http.StatusTooManyRequests, "too many new sockets from your address: slow down", wait}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.max > 0 && a.total >= a.max:
		return &refusal{status: http.StatusServiceUnavailable, msg: "the hub has all the sockets it takes: connect to another or try later"}
	case a.maxPerKey > 0 && a.byKey[addr] >= a.maxPerKey:
		return &refusal{status: http.StatusTooManyRequests, msg: fmt.Sprintf("your address has %d sockets open, the most it may", a.maxPerKey)}
	}
	a.total++
	a.byKey[addr]++
	return nil
}

func (a *admission) release(addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total--
	if a.byKey[addr]--; a.byKey[addr] <= 0 {
		delete(a.byKey, addr)
	}
}

// write answers a refused upgrade in the JSON error envelope, with
// Retry-After for a rate limit.
func (r *refusal) write(w http.ResponseWriter) {
	if r.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((r.retryAfter+time.Second-1)/time.Second)))
	}
	httpError(w, r.status, r.msg)
}
