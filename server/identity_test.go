package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hotrow/internal/clock"
	"hotrow/internal/testkit"
	"hotrow/rooms/cursors"
	"hotrow/txn/memstore"
)

// With a token secret, a socket needs ?token= (HS256, sub and exp); the
// user is the token's sub and ?user= is ignored.
func TestTokenIdentity(t *testing.T) {
	cfg := testConfig("jwt")
	cfg.TokenSecret = "s3cret"
	a, err := newApp(cfg, memstore.New(clock.Real{}), cursors.NewMemStore(), testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	defer srv.Close()
	defer a.shutdown(context.Background())

	sign := func(secret string, claims jwt.MapClaims, method jwt.SigningMethod) string {
		tok, err := jwt.NewWithClaims(method, claims).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	future := time.Now().Add(time.Hour).Unix()
	for _, tc := range []struct {
		name  string
		query string
		want  int
	}{
		{"no token", "?user=alice", http.StatusUnauthorized},
		{"wrong secret", "?token=" + sign("nope", jwt.MapClaims{"sub": "alice", "exp": future}, jwt.SigningMethodHS256), http.StatusUnauthorized},
		{"expired", "?token=" + sign("s3cret", jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Hour).Unix()}, jwt.SigningMethodHS256), http.StatusUnauthorized},
		{"no exp", "?token=" + sign("s3cret", jwt.MapClaims{"sub": "alice"}, jwt.SigningMethodHS256), http.StatusUnauthorized},
		{"HS512", "?token=" + sign("s3cret", jwt.MapClaims{"sub": "alice", "exp": future}, jwt.SigningMethodHS512), http.StatusUnauthorized},
		{"bad sub", "?token=" + sign("s3cret", jwt.MapClaims{"sub": "a b", "exp": future}, jwt.SigningMethodHS256), http.StatusUnauthorized},
	} {
		resp, err := http.Get(srv.URL + "/ws" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}

	tok := sign("s3cret", jwt.MapClaims{"sub": "alice", "name": "Alice A.", "exp": future}, jwt.SigningMethodHS256)
	c := testkit.DialURL(t, testkit.WSURL(srv.URL)+"/ws?user=mallory&token="+tok, nil)
	if w := c.Next(); w["type"] != "welcome" || w["user"] != "alice" {
		t.Fatalf("welcome %v, want user alice from the token", w)
	}
}
