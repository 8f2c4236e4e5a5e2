package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"hotrow/internal/clock"
)

// listCache makes the list endpoints (GET /api/auctions, GET /api/schemas)
// cheap to poll, which is how the lobby stays live (README, "The pages"):
//
//   - every answer carries a strong ETag (a hash of its body) and
//     Cache-Control: no-cache, and a request whose If-None-Match matches
//     gets 304 Not Modified with no body;
//   - a request carrying If-None-Match (a poller revalidating) may be
//     answered from an answer at most ttl old, computed once for every
//     poller on this hub (concurrent misses wait for one computation), so
//     any number of open lobbies costs a hub at most one store read per
//     list per ttl;
//   - a request without If-None-Match always reads the store, so a client
//     that just created something and lists sees it;
//   - any other method on a list path (a create) drops that path's cached
//     answer at once.
//
// The store is the truth for every hub, so a poller sees what other hubs
// created within ttl plus its polling interval.
type listCache struct {
	next  http.Handler
	clock clock.Clock
	ttl   time.Duration
	paths map[string]bool

	mu      sync.Mutex
	entries map[string]*listEntry
}

// listEntry is one computed answer; done is closed once it is filled in.
type listEntry struct {
	done   chan struct{}
	at     time.Time
	status int
	header http.Header
	body   []byte
	etag   string
}

func newListCache(next http.Handler, clk clock.Clock, ttl time.Duration, paths ...string) *listCache {
	c := &listCache{next: next, clock: clk, ttl: ttl, paths: map[string]bool{}, entries: map[string]*listEntry{}}
	for _, p := range paths {
		c.paths[p] = true
	}
	return c
}

func (c *listCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !c.paths[r.URL.Path] {
		c.next.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.next.ServeHTTP(w, r)
		c.forget(r.URL.Path)
		return
	}
	// The answer may one day depend on who asks (rights): key by the
	// credentials too, never share one user's answer with another.
	key := r.URL.Path + "?" + r.URL.RawQuery + "\x00" + r.Header.Get("Authorization")
	var e *listEntry
	if r.Header.Get("If-None-Match") != "" {
		e = c.shared(r, key)
	} else {
		e = c.compute(r.Context(), r)
		if e.status == http.StatusOK {
			c.mu.Lock()
			c.entries[key] = e
			c.mu.Unlock()
		}
	}
	c.write(w, r, e)
}

// shared returns a fresh cached answer, waits for one being computed, or
// computes one for everyone.
func (c *listCache) shared(r *http.Request, key string) *listEntry {
	c.mu.Lock()
	if e := c.entries[key]; e != nil {
		select {
		case <-e.done:
			if c.clock.Now().Sub(e.at) < c.ttl {
				c.mu.Unlock()
				return e
			}
		default:
			c.mu.Unlock()
			select {
			case <-e.done:
				return e
			case <-r.Context().Done():
				return &listEntry{status: http.StatusServiceUnavailable, body: []byte("{}"), header: http.Header{}}
			}
		}
	}
	e := &listEntry{done: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()

	// Computed for every waiter: not bound to this requester's context.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	got := c.compute(ctx, r)
	e.at, e.status, e.header, e.body, e.etag = got.at, got.status, got.header, got.body, got.etag
	close(e.done)
	if e.status != http.StatusOK {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	return e
}

// compute runs the real handler into a buffer.
func (c *listCache) compute(ctx context.Context, r *http.Request) *listEntry {
	e := &listEntry{done: make(chan struct{}), at: c.clock.Now()}
	close(e.done)
	rec := &bufferedResponse{header: http.Header{}}
	c.next.ServeHTTP(rec, r.WithContext(ctx))
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	e.status, e.header, e.body = rec.status, rec.header, rec.body.Bytes()
	sum := sha256.Sum256(e.body)
	e.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	return e
}

func (c *listCache) forget(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if strings.HasPrefix(k, path+"?") {
			delete(c.entries, k)
		}
	}
}

func (c *listCache) write(w http.ResponseWriter, r *http.Request, e *listEntry) {
	h := w.Header()
	for k, v := range e.header {
		h[k] = append([]string(nil), v...)
	}
	if e.status != http.StatusOK {
		w.WriteHeader(e.status)
		_, _ = w.Write(e.body)
		return
	}
	h.Set("ETag", e.etag)
	h.Set("Cache-Control", "no-cache")
	if etagMatches(r.Header.Get("If-None-Match"), e.etag) {
		h.Del("Content-Type")
		h.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(e.body)
	}
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// bufferedResponse is an http.ResponseWriter that keeps what it is given.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
