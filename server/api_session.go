package main

import (
	"net/http"
	"time"

	"hotrow/hub/auth"
)

// session is the answer of GET /api/session: whether this hub needs tokens
// and, for a request that carries one, who the hub takes its holder to be.
type session struct {
	Tokens bool         `json:"tokens"`
	User   string       `json:"user,omitempty"`
	Name   string       `json:"name,omitempty"`
	Exp    *time.Time   `json:"exp,omitempty"`
	Rights *auth.Rights `json:"rights,omitempty"`
}

// registerSession adds GET /api/session (docs/protocol.md, "HTTP API"),
// which the web pages ask before anything else: in development mode they
// keep their own user name; with a token secret they ask for a token
// instead of opening a socket the hub would refuse, and show who the
// token's holder is as the hub verified it.
//
// It needs no token, so a page can learn that it needs one without a
// failing request: {"tokens":true} without an Authorization header, the
// holder's identity with a valid bearer token, and 401 (saying why) with
// one the hub refuses. Rate-limited like the API.
func (a *app) registerSession(rt *routes) {
	g := rt.guard
	rt.plain("GET", "/api/session", rt.limits.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !g.auth.Enabled() {
			writeJSON(w, http.StatusOK, session{})
			return
		}
		if r.Header.Get("Authorization") == "" {
			writeJSON(w, http.StatusOK, session{Tokens: true})
			return
		}
		id, apiErr := g.identify(r)
		if apiErr != nil {
			writeError(w, apiErr)
			return
		}
		exp := id.Expires.UTC()
		writeJSON(w, http.StatusOK, session{Tokens: true, User: id.User, Name: id.Name, Exp: &exp, Rights: &id.Rights})
	})))
}
