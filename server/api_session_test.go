package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hotrow/internal/clock"
	"hotrow/rooms/cursors"
	"hotrow/txn/memstore"
)

// GET /api/session: development mode says so; with a secret it needs no
// token to say that one is needed, names a valid token's holder, and
// refuses a bad token with 401.
func TestSession(t *testing.T) {
	get := func(url, token string) (int, map[string]any, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", url+"/api/session", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		return resp.StatusCode, m, resp.Header
	}

	dev := memHub(t)
	if code, m, _ := get(dev.url, ""); code != 200 || m["tokens"] != false || len(m) != 1 {
		t.Errorf("development: %d %v, want 200 {tokens:false}", code, m)
	}

	cfg := testConfig("session")
	cfg.TokenSecret = "k"
	a, err := newApp(cfg, memstore.New(clock.Real{}), cursors.NewMemStore(), testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	h := serveApp(t, a)
	if code, m, _ := get(h.url, ""); code != 200 || m["tokens"] != true || len(m) != 1 {
		t.Errorf("no token: %d %v, want 200 {tokens:true}", code, m)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tok := signed(t, "k", jwt.MapClaims{"sub": "alice", "name": "Alice A.", "exp": exp.Unix(),
		"rights": map[string]any{"watch": []string{"auction:*"}}})
	code, m, _ := get(h.url, tok)
	if code != 200 || m["tokens"] != true || m["user"] != "alice" || m["name"] != "Alice A." {
		t.Fatalf("valid token: %d %v", code, m)
	}
	if got, _ := time.Parse(time.RFC3339, m["exp"].(string)); !got.Equal(exp) {
		t.Errorf("exp %v, want %v", m["exp"], exp.UTC().Format(time.RFC3339))
	}
	rights, _ := m["rights"].(map[string]any)
	if w, _ := rights["watch"].([]any); len(w) != 1 || w[0] != "auction:*" || rights["admin"] != false {
		t.Errorf("rights %v, want the token's", m["rights"])
	}
	for name, bad := range map[string]string{
		"garbage":      "garbage",
		"wrong secret": signed(t, "other", jwt.MapClaims{"sub": "alice"}),
		"expired":      signed(t, "k", jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Minute).Unix()}),
	} {
		code, m, hdr := get(h.url, bad)
		e, _ := m["error"].(map[string]any)
		if code != 401 || e["code"] != "unauthorized" || e["message"] == "" || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %v, want 401 unauthorized with a message and WWW-Authenticate", name, code, m)
		}
	}
}
