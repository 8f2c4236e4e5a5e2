package main

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"hotrow/hub/auth"
	"hotrow/hub/wire"
)

// guard authenticates API requests and checks their rights
// (docs/protocol.md, "Rights and tokens"): with a token secret every API
// request needs Authorization: Bearer <JWT> (401 without a valid one) and
// the right for what it asks (403 without). Without a secret (development)
// every request acts as the system user http with every right.
type guard struct {
	auth *auth.Verifier
}

// need is a request's right: nil when the identity may do it.
type need func(r *http.Request, rights auth.Rights) *apiError

type identityKey struct{}

// identityOf is the identity guard attached to the request.
func identityOf(ctx context.Context) auth.Identity {
	id, _ := ctx.Value(identityKey{}).(auth.Identity)
	return id
}

// devUser is who API requests act as in development mode, and the by of
// every room created over HTTP.
const devUser = "http"

// with wraps h: it runs only for a request that is authenticated and has
// the right n asks for.
func (g *guard) with(n need, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, apiErr := g.identify(r)
		if apiErr == nil && n != nil {
			apiErr = n(r, id.Rights)
		}
		if apiErr != nil {
			writeError(w, apiErr)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}

func (g *guard) identify(r *http.Request) (auth.Identity, *apiError) {
	if !g.auth.Enabled() {
		return auth.Development(devUser), nil
	}
	h := r.Header.Get("Authorization")
	scheme, raw, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") {
		return auth.Identity{}, unauthorized("this API needs Authorization: Bearer <JWT>")
	}
	id, err := g.auth.Verify(strings.TrimSpace(raw))
	if errors.Is(err, auth.ErrNoToken) {
		return auth.Identity{}, unauthorized("the Authorization header holds no token")
	}
	if err != nil {
		return auth.Identity{}, unauthorized(err.Error())
	}
	return id, nil
}

func unauthorized(msg string) *apiError {
	return &apiError{http.StatusUnauthorized, wire.CodeUnauthorized, msg}
}

func forbidden(msg string) *apiError {
	return &apiError{http.StatusForbidden, wire.CodeForbidden, msg}
}

// needNothing: any authenticated request (lists filter by watch).
func needNothing(*http.Request, auth.Rights) *apiError { return nil }

// needCreate: the create right for kind.
func needCreate(kind string) need {
	return func(_ *http.Request, rights auth.Rights) *apiError {
		if !rights.CanCreate(kind) {
			return forbidden("your token does not let you create " + kind + " rooms")
		}
		return nil
	}
}

// needWatch: the watch right on the room kind:{id} of the path.
func needWatch(kind string) need {
	return func(r *http.Request, rights auth.Rights) *apiError {
		room := kind + ":" + r.PathValue("id")
		if !rights.CanWatch(room) {
			return forbidden("your token does not let you watch " + room)
		}
		return nil
	}
}

// needAdmin: the admin right.
func needAdmin(_ *http.Request, rights auth.Rights) *apiError {
	if !rights.IsAdmin() {
		return forbidden("this endpoint needs the admin right")
	}
	return nil
}
