package main

import (
	"net/http"
	"time"

	"hotrow/static"
)

// listCacheTTL is how old a list answer may be when a poller revalidates it
// (see lists.go): with the lobby polling every 600 ms, a new auction or
// document shows up for everyone within 600 + 250 ms plus a round trip.
const listCacheTTL = 250 * time.Millisecond

// registerPages adds what the web pages need beside the API: the schema
// document list, how this hub authenticates (api_session.go), the server's
// clock, and the pages themselves (static/), and
// returns the hub's handler with the list endpoints made conditional.
//
// /api/time and the pages need no token: the time is no secret, and a page
// holds no data until it calls the API.
func (a *app) registerPages(rt *routes) http.Handler {
	(&schemaListAPI{store: a.store.Schemas(), log: a.log}).register(rt)
	a.registerSession(rt)
	rt.plain("GET", "/api/time", http.HandlerFunc(a.serverTime))
	rt.plain("GET", "/", static.Handler())
	return newListCache(rt.handler(), a.clock, listCacheTTL, "/api/auctions", "/api/schemas")
}

// serverTime answers {"now": RFC 3339 with milliseconds}: the pages
// estimate the offset between the browser's clock and the hub's from it
// (taking the sample with the shortest round trip), so a countdown reaches
// zero when the hub's clock does.
func (a *app) serverTime(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"now": a.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")})
}
