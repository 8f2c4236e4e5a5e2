package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hotrow/internal/clock"
	"hotrow/internal/testkit"
	"hotrow/rooms/cursors"
	"hotrow/txn/memstore"
)

// do sends one request and returns its status, headers and JSON error code.
func do(t *testing.T, method, url, token, contentType, origin, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if resp.StatusCode >= 400 {
		if resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &e) != nil || e.Error.Code == "" {
			t.Errorf("%s %s: %d with a body outside the JSON error envelope: %q", method, url, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, resp.Header, e.Error.Code
}

func signed(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const lamp = `{"id":"lamp","title":"Lamp","starting_price":"10.00","increment":"1.00"}`

// With a token secret the HTTP API needs a bearer token and the right for
// each request: create per kind, watch per room, admin for /debug/.
func TestAPIRights(t *testing.T) {
	cfg := testConfig("rights")
	cfg.TokenSecret = "k"
	a, err := newApp(cfg, memstore.New(clock.Real{}), cursors.NewMemStore(), testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	h := serveApp(t, a)
	const js = "application/json"
	seller := signed(t, "k", jwt.MapClaims{"sub": "sam", "rights": map[string]any{"create": []string{"auction"}, "watch": []string{"auction:lamp"}}})
	viewer := signed(t, "k", jwt.MapClaims{"sub": "vic", "rights": map[string]any{"watch": []string{"auction:other"}}})
	plain := signed(t, "k", jwt.MapClaims{"sub": "pat"})
	admin := signed(t, "k", jwt.MapClaims{"sub": "ada", "rights": map[string]any{"admin": true}})

	for _, tc := range []struct {
		name, method, path, token, body string
		want                            int
		code                            string
	}{
		{"no token", "POST", "/api/auctions", "", lamp, 401, "unauthorized"},
		{"bad token", "POST", "/api/auctions", "garbage", lamp, 401, "unauthorized"},
		{"wrong secret", "POST", "/api/auctions", signed(t, "other", jwt.MapClaims{"sub": "x"}), lamp, 401, "unauthorized"},
		{"no create right", "POST", "/api/auctions", plain, lamp, 403, "forbidden"},
		{"create", "POST", "/api/auctions", seller, lamp, 201, ""},
		{"no schema create right", "POST", "/api/schemas", seller, `{"name":"x"}`, 403, "forbidden"},
		{"read without a token", "GET", "/api/auctions/lamp", "", "", 401, "unauthorized"},
		{"read a watched room", "GET", "/api/auctions/lamp", seller, "", 200, ""},
		{"read its bids", "GET", "/api/auctions/lamp/bids", seller, "", 200, ""},
		{"read a room not watched", "GET", "/api/auctions/lamp", viewer, "", 403, "forbidden"},
		{"default rights watch everything", "GET", "/api/auctions/lamp", plain, "", 200, ""},
		{"debug without admin", "GET", "/debug/pprof/", plain, "", 403, "forbidden"},
		{"debug as admin", "GET", "/debug/pprof/", admin, "", 200, ""},
		{"hot rooms without admin", "GET", "/debug/rooms", plain, "", 403, "forbidden"},
		{"hot rooms without a token", "GET", "/debug/rooms", "", "", 401, "unauthorized"},
		{"hot rooms as admin", "GET", "/debug/rooms", admin, "", 200, ""},
	} {
		code, hdr, ecode := do(t, tc.method, h.url+tc.path, tc.token, js, "", tc.body)
		if code != tc.want || ecode != tc.code {
			t.Errorf("%s: %d %q, want %d %q", tc.name, code, ecode, tc.want, tc.code)
		}
		if code == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without WWW-Authenticate: Bearer", tc.name)
		}
	}
	// The list shows only what the holder may watch.
	list := func(tok string) int {
		req, _ := http.NewRequest("GET", h.url+"/api/auctions", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var all []any
		_ = json.NewDecoder(resp.Body).Decode(&all)
		return len(all)
	}
	if n, m := list(seller), list(viewer); n != 1 || m != 0 {
		t.Fatalf("lists: %d for the seller, %d for a viewer of another room", n, m)
	}
}

// In development mode the API trusts everyone with everything, and the
// log says so at start.
func TestDevelopmentModeSaysSo(t *testing.T) {
	var logs bytes.Buffer
	a, err := newApp(testConfig("dev"), memstore.New(clock.Real{}), cursors.NewMemStore(), slog.New(slog.NewTextHandler(&logs, nil)), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	h := serveApp(t, a)
	if !strings.Contains(logs.String(), "development mode") || !strings.Contains(logs.String(), "every right") {
		t.Fatalf("the start-up log does not say development mode allows everything:\n%s", logs.String())
	}
	if code, _, _ := do(t, "GET", h.url+"/debug/pprof/", "", "", "", ""); code != 200 {
		t.Fatalf("debug in development mode: %d", code)
	}
	if code, _, _ := do(t, "POST", h.url+"/api/auctions", "", "application/json", "", lamp); code != 201 {
		t.Fatalf("create in development mode: %d", code)
	}
}

// State-changing requests must be JSON and, with an Origin, from an
// allowed one: a cross-site form or text/plain POST creates nothing.
func TestCrossSiteWritesRefused(t *testing.T) {
	cfg := testConfig("csrf")
	cfg.AllowOrigins = "*.trusted.example"
	a, err := newApp(cfg, memstore.New(clock.Real{}), cursors.NewMemStore(), testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	h := serveApp(t, a)
	self := h.url
	body := func(id string) string { return strings.Replace(lamp, `"lamp"`, `"`+id+`"`, 1) }
	for _, tc := range []struct {
		name, ctype, origin, id string
		want                    int
		code                    string
	}{
		{"text/plain from anywhere", "text/plain", "https://evil.example", "a1", 403, "forbidden"},
		{"text/plain without origin", "text/plain", "", "a2", 415, "unsupported_media_type"},
		{"form", "application/x-www-form-urlencoded", "", "a3", 415, "unsupported_media_type"},
		{"no content type", "", "", "a4", 415, "unsupported_media_type"},
		{"JSON from another site", "application/json", "https://evil.example", "a5", 403, "forbidden"},
		{"JSON from an allowed origin", "application/json; charset=utf-8", "https://app.trusted.example", "a6", 201, ""},
		{"JSON from the same origin", "application/json", self, "a7", 201, ""},
		{"JSON without origin", "application/json", "", "a8", 201, ""},
	} {
		code, _, ecode := do(t, "POST", h.url+"/api/auctions", "", tc.ctype, tc.origin, body(tc.id))
		if code != tc.want || ecode != tc.code {
			t.Errorf("%s: %d %q, want %d %q", tc.name, code, ecode, tc.want, tc.code)
		}
	}
	var got []map[string]any
	getJSON(t, h.url+"/api/auctions", &got)
	if len(got) != 3 {
		t.Fatalf("%d auctions created, want the 3 allowed", len(got))
	}
}

// A method a path does not take is 405 in the JSON envelope, with Allow.
func TestMethodNotAllowedInTheEnvelope(t *testing.T) {
	h := memHub(t)
	for path, allow := range map[string]string{
		"/api/auctions":      "POST, GET, HEAD",
		"/api/auctions/x":    "GET, HEAD",
		"/ws":                "GET, HEAD",
		"/":                  "GET, HEAD",
		"/api/schemas/x/ddl": "GET, HEAD",
	} {
		code, hdr, ecode := do(t, "DELETE", h.url+path, "", "application/json", "", "")
		if code != 405 || ecode != "method_not_allowed" || hdr.Get("Allow") != allow {
			t.Errorf("DELETE %s: %d %q Allow %q, want 405 method_not_allowed Allow %q", path, code, ecode, hdr.Get("Allow"), allow)
		}
	}
	if code, _, ecode := do(t, "GET", h.url+"/api/nothing", "", "", "", ""); code != 404 || ecode != "not_found" {
		t.Errorf("GET /api/nothing: %d %q", code, ecode)
	}
}

// API requests are rate-limited per client address, state-changing ones
// more tightly, with Retry-After.
func TestAPIRatesPerAddress(t *testing.T) {
	clk := clock.NewFake(time.Now())
	cfg := testConfig("rates")
	cfg.HTTPRate, cfg.HTTPBurst, cfg.HTTPWriteRate, cfg.HTTPWriteBurst = 10, 5, 1, 2
	a, err := newApp(cfg, memstore.New(clk), cursors.NewMemStore(), testLogger(t), clk)
	if err != nil {
		t.Fatal(err)
	}
	h := serveApp(t, a)
	for i, want := range []int{201, 201, 429} {
		body := strings.Replace(lamp, `"lamp"`, `"r`+string(rune('0'+i))+`"`, 1)
		code, hdr, ecode := do(t, "POST", h.url+"/api/auctions", "", "application/json", "", body)
		if code != want || (want == 429 && (ecode != "rate_limited" || hdr.Get("Retry-After") != "1")) {
			t.Fatalf("create %d: %d %q Retry-After %q, want %d", i, code, ecode, hdr.Get("Retry-After"), want)
		}
	}
	// Reads share the remaining burst: 5 in all, 3 used.
	for i, want := range []int{200, 200, 429} {
		if code, _, _ := do(t, "GET", h.url+"/api/auctions", "", "", "", ""); code != want {
			t.Fatalf("read %d: %d, want %d", i, code, want)
		}
	}
	// Health checks and metrics are not API requests.
	if code, _, _ := do(t, "GET", h.url+"/healthz", "", "", "", ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	clk.Advance(time.Second)
	if code, _, _ := do(t, "POST", h.url+"/api/auctions", "", "application/json", "", strings.Replace(lamp, `"lamp"`, `"later"`, 1)); code != 201 {
		t.Fatalf("create after a second: %d", code)
	}
}

// The HTTP server closes idle keep-alive connections and requests whose
// body trickles in, while sockets live on past both timeouts.
func TestHTTPTimeouts(t *testing.T) {
	cfg := testConfig("timeouts")
	cfg.HTTPReadTimeout, cfg.HTTPWriteTimeout, cfg.HTTPIdleTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	a, err := newApp(cfg, memstore.New(clock.Real{}), cursors.NewMemStore(), testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.handler)
	srv.Config = newHTTPServer(cfg, a.handler, testLogger(t))
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.shutdown(ctx)
		srv.Close()
	})
	addr := srv.Listener.Addr().String()

	// closedWithin reports whether the server closes conn within d.
	closedWithin := func(conn net.Conn, d time.Duration) bool {
		_ = conn.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		return err == nil || !(errors.As(err, &ne) && ne.Timeout())
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	if !closedWithin(idle, 10*time.Second) {
		t.Fatal("an idle keep-alive connection was still open after 10s with a 300ms idle timeout")
	}

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte("POST /api/auctions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range 20 {
			time.Sleep(100 * time.Millisecond)
			if _, err := slow.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	if !closedWithin(slow, 10*time.Second) {
		t.Fatal("a request trickling its body was still open after 10s with a 300ms read timeout")
	}

	// A socket outlives the request timeouts.
	c := testkit.Dial(t, "http://"+addr, "alice")
	time.Sleep(time.Second)
	c.Send(map[string]any{"type": "ping", "ref": "late"})
	if m := c.Until("pong"); m["ref"] != "late" {
		t.Fatalf("pong %v", m)
	}
}
