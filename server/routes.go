package main

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"hotrow/hub/wire"
	"hotrow/internal/clock"
	"hotrow/internal/ratelimit"
)

// routes registers the hub's endpoints on a mux. API endpoints are
// rate-limited per client address, guarded against cross-site requests and
// authenticated; every path answers a method it does not take with 405 in
// the JSON error envelope, with an Allow header.
type routes struct {
	mux     *http.ServeMux
	guard   *guard
	csrf    csrf
	limits  httpLimits
	allowed map[string][]string // path -> methods, for 405
	paths   []string
}

func newRoutes(g *guard, c csrf, l httpLimits) *routes {
	return &routes{mux: http.NewServeMux(), guard: g, csrf: c, limits: l, allowed: map[string][]string{}}
}

// plain registers h for method and path as is. A subtree path ending in
// "/" (the web pages at "/", /debug/pprof/) is registered for every method
// and checks the method itself: a method-specific "GET /" would conflict
// with the 405 fallback of every more specific path.
func (rt *routes) plain(method, path string, h http.Handler) {
	if strings.HasSuffix(path, "/") {
		allow := method
		if method == http.MethodGet {
			allow += ", " + http.MethodHead
		}
		rt.mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
				methodNotAllowed(w, r, allow)
				return
			}
			h.ServeHTTP(w, r)
		}))
		return
	}
	rt.mux.Handle(method+" "+path, h)
	if _, seen := rt.allowed[path]; !seen {
		rt.paths = append(rt.paths, path)
	}
	rt.allowed[path] = append(rt.allowed[path], method)
}

// api registers an API endpoint: rate limit, then the cross-site checks of
// state-changing requests, then the token and the right n, then h.
func (rt *routes) api(method, path string, n need, h http.HandlerFunc) {
	rt.plain(method, path, rt.limits.wrap(rt.csrf.wrap(rt.guard.with(n, h))))
}

// handler finishes the table: a 405 for every other method of each path,
// and a JSON 404 under /api/.
func (rt *routes) handler() http.Handler {
	for _, p := range rt.paths {
		methods := slices.Clone(rt.allowed[p])
		if slices.Contains(methods, http.MethodGet) && !slices.Contains(methods, http.MethodHead) {
			methods = append(methods, http.MethodHead)
		}
		allow := strings.Join(methods, ", ")
		rt.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { methodNotAllowed(w, r, allow) })
	}
	if _, ok := rt.allowed["/api/"]; !ok {
		rt.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, notFound("no such endpoint: %s", r.URL.Path))
		})
	}
	return rt.mux
}

// httpLimits bound the API requests of one client address: every request
// against reads, and each state-changing one against writes too. Over
// either: 429 rate_limited with Retry-After.
type httpLimits struct {
	reads, writes *ratelimit.Keyed
	addr          func(*http.Request) string
	clock         clock.Clock
}

func (l httpLimits) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, now := l.addr(r), l.clock.Now()
		ok, wait := l.reads.Allow(key, now)
		if ok && r.Method != http.MethodGet && r.Method != http.MethodHead {
			ok, wait = l.writes.Allow(key, now)
		}
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			writeError(w, &apiError{http.StatusTooManyRequests, wire.CodeRateLimited, "too many requests from your address: slow down"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// methodNotAllowed answers 405 in the JSON error envelope with Allow.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, &apiError{http.StatusMethodNotAllowed, "method_not_allowed", r.Method + " is not allowed here: use " + allow})
}
