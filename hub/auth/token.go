package auth

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hotrow/internal/clock"
	"hotrow/internal/textutil"
)

// UserPattern is what a user id may be: 1-64 of A-Z a-z 0-9 _ . -.
var UserPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// UserRule says what UserPattern accepts, for error messages.
const UserRule = "1-64 characters of A-Z, a-z, 0-9, _, . and -"

// Reserved are user names the system itself writes where a user would be:
// "http" is the by of everything created over the HTTP API. No socket,
// token or development user may take one.
var Reserved = []string{"http"}

// IsReserved reports whether user is a name the system uses.
func IsReserved(user string) bool {
	for _, r := range Reserved {
		if user == r {
			return true
		}
	}
	return false
}

// Identity is who a client is and what it may do.
type Identity struct {
	User    string // every message is attributed to it
	Name    string // a display name (the token's name claim, else User)
	Rights  Rights
	Expires time.Time // the token's exp; zero in development mode
}

// Leeway is the clock skew tolerated between a token's issuer and the hub,
// on exp at connect and on a socket's expiry alike.
const Leeway = 5 * time.Second

// Verifier checks HS256 tokens. With no secret it is in development mode:
// Enabled is false and nobody needs a token.
type Verifier struct {
	Secret []byte
	// Default are the rights of a token without a rights claim.
	Default Rights
	Clock   clock.Clock
}

// Enabled reports whether tokens are required (a secret is set).
func (v *Verifier) Enabled() bool { return v != nil && len(v.Secret) > 0 }

// claims are a token's claims as hotrow reads them.
type claims struct {
	jwt.RegisteredClaims
	Name   string  `json:"name"`
	Rights *Rights `json:"rights"`
}

// ErrNoToken is returned for a missing token.
var ErrNoToken = errors.New("a token is required")

// Verify checks raw (HS256, signed with the secret, with sub and exp, not
// expired) and returns the identity it carries. Errors say what is wrong,
// for a 401.
func (v *Verifier) Verify(raw string) (Identity, error) {
	if raw == "" {
		return Identity{}, ErrNoToken
	}
	var c claims
	now := time.Now
	if v.Clock != nil {
		now = v.Clock.Now
	}
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return v.Secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(now), jwt.WithLeeway(Leeway))
	if err != nil {
		return Identity{}, fmt.Errorf("invalid token: %w", err)
	}
	if !UserPattern.MatchString(c.Subject) {
		return Identity{}, errors.New("invalid token: sub must be " + UserRule)
	}
	if IsReserved(c.Subject) {
		return Identity{}, fmt.Errorf("invalid token: sub %q is a name the system uses", c.Subject)
	}
	id := Identity{User: c.Subject, Name: c.Name, Rights: v.Default, Expires: c.ExpiresAt.Time}
	if c.Rights != nil {
		id.Rights = *c.Rights
	}
	if id.Name == "" || textutil.Chars(id.Name) > 64 || textutil.HasControl(id.Name) {
		id.Name = id.User
	}
	return id, nil
}

// Development is the identity of a development-mode client named user:
// every right, no expiry.
func Development(user string) Identity {
	return Identity{User: user, Name: user, Rights: All()}
}
