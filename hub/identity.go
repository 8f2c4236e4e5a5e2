package hub

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var userPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Identity is who a socket belongs to.
type Identity struct {
	User string // the user id every message is attributed to
	Name string // a display name (the token's name claim, else the user)
}

// identify works out the socket's user. With no token secret (development)
// it is ?user=NAME or a generated guest; with a secret, ?token= must be a
// valid HS256 JWT with sub and exp, and ?user= is ignored.
func (h *Hub) identify(r *http.Request) (Identity, int, error) {
	q := r.URL.Query()
	if len(h.cfg.TokenSecret) == 0 {
		u := q.Get("user")
		if u == "" {
			u = "guest-" + h.cfg.NewID(6)
		}
		if !userPattern.MatchString(u) {
			return Identity{}, http.StatusBadRequest, fmt.Errorf("user must be 1-64 characters of A-Z, a-z, 0-9, _, . and -")
		}
		return Identity{User: u, Name: u}, 0, nil
	}
	raw := q.Get("token")
	if raw == "" {
		return Identity{}, http.StatusUnauthorized, errors.New("a token is required: connect with ?token=<JWT>")
	}
	claims := struct {
		jwt.RegisteredClaims
		Name string `json:"name"`
	}{}
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return h.cfg.TokenSecret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(h.cfg.Clock.Now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		return Identity{}, http.StatusUnauthorized, fmt.Errorf("invalid token: %w", err)
	}
	if !userPattern.MatchString(claims.Subject) {
		return Identity{}, http.StatusUnauthorized, errors.New("invalid token: sub must be 1-64 characters of A-Z, a-z, 0-9, _, . and -")
	}
	id := Identity{User: claims.Subject, Name: claims.Name}
	if id.Name == "" || len(id.Name) > 64 {
		id.Name = id.User
	}
	return id, 0, nil
}
