package main

import (
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"hotrow/hub/wire"
	"hotrow/internal/textutil"
)

// csrf refuses state-changing requests a browser could be tricked into
// sending from another site: they must be Content-Type: application/json
// (a cross-site form or a text/plain fetch cannot be, without a CORS
// preflight hotrow never grants), 415 otherwise; and when they carry an
// Origin, it must be this server's own or one of the allowed origin
// patterns (the ones sockets accept), 403 otherwise.
type csrf struct {
	allowOrigins []string // host patterns, as for sockets (path.Match, case-insensitive)
}

func (c csrf) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			h.ServeHTTP(w, r)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !c.allowed(o, r.Host) {
			writeError(w, &apiError{http.StatusForbidden, wire.CodeForbidden, "cross-origin requests from " + textutil.Clip(o, 80) + " are not allowed"})
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as Content-Type: application/json"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// allowed reports whether origin is the server's own (host) or matches an
// allowed pattern.
func (c csrf) allowed(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	for _, p := range c.allowOrigins {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); ok {
			return true
		}
	}
	return false
}
