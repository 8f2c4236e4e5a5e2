package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotrow/internal/clock"
	"hotrow/internal/testkit"
	"hotrow/internal/testpg"
)

func postJSON(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}

func testSchemaList(t *testing.T, h *testHub) {
	var list []map[string]any
	if code := getJSON(t, h.url+"/api/schemas", &list); code != http.StatusOK || len(list) != 0 {
		t.Fatalf("empty list: %d %v", code, list)
	}
	postJSON(t, h.url+"/api/schemas", `{"id":"first","name":"First"}`)
	time.Sleep(5 * time.Millisecond) // created_at orders the list
	postJSON(t, h.url+"/api/schemas", `{"id":"second","name":"Second"}`)
	c := testkit.Dial(t, h.url, "ann")
	c.Send(map[string]any{"type": "join", "room": "schema:first"})
	c.Until("joined")
	c.Send(map[string]any{"type": "edit", "room": "schema:first", "id": "e1", "op": map[string]any{"kind": "create_table", "name": "t"}})
	c.Until("ack")
	getJSON(t, h.url+"/api/schemas", &list)
	if len(list) != 2 || list[0]["id"] != "second" || list[1]["id"] != "first" {
		t.Fatalf("list %v, want second then first", list)
	}
	if list[1]["name"] != "First" || list[1]["version"] != 2.0 || list[1]["tables"] != 1.0 || list[0]["tables"] != 0.0 {
		t.Fatalf("summaries %v", list)
	}
}

func TestSchemaListEmbedded(t *testing.T) { testSchemaList(t, memHub(t)) }

func TestSchemaListPostgres(t *testing.T) {
	testSchemaList(t, startHub(t, pgStore(t, testpg.DSN(t)), "pg-a"))
}

func get(t *testing.T, url, etag string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// The lobby polls the lists with If-None-Match: unchanged is a 304, a
// create is seen at once by the hub that made it.
func TestListsAnswer304UntilTheyChange(t *testing.T) {
	h := memHub(t)
	for _, path := range []string{"/api/auctions", "/api/schemas"} {
		first := get(t, h.url+path, "")
		etag := first.Header.Get("ETag")
		if first.StatusCode != http.StatusOK || etag == "" || first.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("GET %s: %s %v", path, first.Status, first.Header)
		}
		if again := get(t, h.url+path, etag); again.StatusCode != http.StatusNotModified {
			t.Fatalf("GET %s with its ETag: %s", path, again.Status)
		}
		body := `{"title":"Lamp","starting_price":"1.00","increment":"1.00"}`
		if path == "/api/schemas" {
			body = `{"name":"Shop"}`
		}
		postJSON(t, h.url+path, body)
		changed := get(t, h.url+path, etag)
		if changed.StatusCode != http.StatusOK || changed.Header.Get("ETag") == etag {
			t.Fatalf("GET %s after a create: %s, ETag %q", path, changed.Status, changed.Header.Get("ETag"))
		}
	}
}

// Pollers share one read per ttl; plain requests always read.
func TestListCacheSharesReadsBetweenPollers(t *testing.T) {
	var reads atomic.Int32
	body := "[1]"
	var mu sync.Mutex
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads.Add(1)
		if r.Method == http.MethodPost {
			mu.Lock()
			body = "[1,2]"
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		writeJSON(w, http.StatusOK, body)
	})
	clk := clock.NewFake(time.Unix(1e9, 0))
	c := newListCache(next, clk, 250*time.Millisecond, "/api/things")
	do := func(method, etag string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/api/things", nil)
		if etag != "" {
			r.Header.Set("If-None-Match", etag)
		}
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		return w
	}
	first := do(http.MethodGet, "")
	etag := first.Header().Get("ETag")
	for i := 0; i < 5; i++ {
		if w := do(http.MethodGet, etag); w.Code != http.StatusNotModified {
			t.Fatalf("poll %d: %d", i, w.Code)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("%d reads for one plain request and five polls within the ttl, want 1", n)
	}
	clk.Advance(300 * time.Millisecond)
	do(http.MethodGet, etag)
	if n := reads.Load(); n != 2 {
		t.Fatalf("%d reads after the ttl, want 2", n)
	}
	do(http.MethodGet, "")
	if n := reads.Load(); n != 3 {
		t.Fatalf("%d reads after a plain request, want 3", n)
	}
	// A create drops the cached answer: the next poll reads.
	do(http.MethodPost, "")
	if w := do(http.MethodGet, etag); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "[1,2]") {
		t.Fatalf("poll after a create: %d %q", w.Code, w.Body.String())
	}
	// Other paths pass through untouched.
	r := httptest.NewRequest(http.MethodGet, "/api/other", nil)
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Header().Get("ETag") != "" {
		t.Fatal("a path outside the list got an ETag")
	}
}

func TestServerTime(t *testing.T) {
	h := memHub(t)
	var got struct{ Now time.Time }
	before := time.Now()
	getJSON(t, h.url+"/api/time", &got)
	if got.Now.Before(before.Add(-time.Second)) || got.Now.After(time.Now().Add(time.Second)) {
		t.Fatalf("server time %v, local %v", got.Now, before)
	}
}

// The pages are served by the hub (the static package tests the rest).
func TestHubServesThePages(t *testing.T) {
	h := memHub(t)
	for _, path := range []string{"/", "/auctions/x", "/schemas/x", "/proof"} {
		resp := get(t, h.url+path, "")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %s %s", path, resp.Status, resp.Header.Get("Content-Type"))
		}
	}
}
