package hub

import (
	"errors"
	"fmt"
	"net/http"

	"hotrow/hub/auth"
)

// Identity is who a socket belongs to and what it may do.
type Identity = auth.Identity

// identify works out the socket's user. With no token secret (development)
// it is ?user=NAME or a generated guest, with every right; with a secret,
// ?token= must be a valid HS256 JWT with sub and exp, and ?user= is
// ignored. Names the system uses (auth.Reserved) are refused either way.
func (h *Hub) identify(r *http.Request) (Identity, int, error) {
	q := r.URL.Query()
	if !h.auth.Enabled() {
		u := q.Get("user")
		if u == "" {
			u = "guest-" + h.cfg.NewID(6)
		}
		if !auth.UserPattern.MatchString(u) {
			return Identity{}, http.StatusBadRequest, fmt.Errorf("user must be %s", auth.UserRule)
		}
		if auth.IsReserved(u) {
			return Identity{}, http.StatusBadRequest, fmt.Errorf("user %q is a name the system uses: pick another", u)
		}
		return auth.Development(u), 0, nil
	}
	id, err := h.auth.Verify(q.Get("token"))
	if errors.Is(err, auth.ErrNoToken) {
		return Identity{}, http.StatusUnauthorized, errors.New("a token is required: connect with ?token=<JWT>")
	}
	if err != nil {
		return Identity{}, http.StatusUnauthorized, err
	}
	return id, 0, nil
}
