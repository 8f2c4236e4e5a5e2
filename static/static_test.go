package static

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, r)
	return w
}

func TestPagesRevalidate(t *testing.T) {
	for path, title := range map[string]string{"/": "lobby", "/auctions/lamp-1": "auction", "/schemas/shop_2": "schema designer", "/proof": "proof panel"} {
		w := get(t, path)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<title>hotrow · "+title+"</title>") {
			t.Fatalf("GET %s: %d, want the %s page", path, w.Code, title)
		}
		h := w.Header()
		if h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Fatalf("GET %s headers %v: want no-cache, an ETag and the CSP", path, h)
		}
		again := get(t, path, "If-None-Match", h.Get("ETag"))
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Fatalf("GET %s with its ETag: %d %q, want 304 and no body", path, again.Code, again.Body.String())
		}
	}
	for _, path := range []string{"/nope", "/auctions/", "/auctions/a/b", "/auctions/bad!id", "/assets/nope.js"} {
		if w := get(t, path); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Nothing here") {
			t.Fatalf("GET %s: %d, want the 404 page", path, w.Code)
		}
	}
}

func TestAssetsAreVersionedAndCompressed(t *testing.T) {
	page := get(t, "/").Body.String()
	prefix := AssetPrefix()
	if !regexp.MustCompile(`^/assets/[0-9a-f]{12}/$`).MatchString(prefix) {
		t.Fatalf("asset prefix %q", prefix)
	}
	if !strings.Contains(page, `href="`+prefix+`app.css"`) || strings.Contains(page, `"/assets/app.css"`) {
		t.Fatal("the lobby does not name its stylesheet under the versioned prefix")
	}
	plain := get(t, prefix+"app.css")
	if cc := plain.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Fatalf("versioned asset Cache-Control %q", cc)
	}
	if plain.Header().Get("Content-Encoding") != "" || !strings.HasPrefix(plain.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("plain request headers %v", plain.Header())
	}
	gz := get(t, prefix+"app.css", "Accept-Encoding", "br, gzip;q=0.8")
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip request headers %v", gz.Header())
	}
	if gz.Body.Len() >= plain.Body.Len() {
		t.Fatalf("gzipped %d bytes, plain %d", gz.Body.Len(), plain.Body.Len())
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Fatal("the gzipped body is not the stylesheet")
	}
	if gz.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Fatal("the gzip and plain variants share a strong ETag")
	}
	if w := get(t, prefix+"app.css", "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Fatal("gzip;q=0 still got gzip")
	}
	// Another release's hash: served, but never cached under that name.
	other := get(t, "/assets/000000000000/app.css")
	if other.Code != http.StatusOK || other.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("other hash: %d %q", other.Code, other.Header().Get("Cache-Control"))
	}
	if w := get(t, "/favicon.ico"); w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("favicon: %d %v", w.Code, w.Header())
	}
}

// Every asset a page or a module names exists, so no page 404s a part of
// itself.
func TestEveryReferenceResolves(t *testing.T) {
	ref := regexp.MustCompile(`"/assets/[0-9a-f]{12}/([^"]+)"`)
	imp := regexp.MustCompile(`from "\./([^"]+)"`)
	pages, _ := fs.Glob(files, "pages/*.html")
	for _, p := range pages {
		b := get(t, map[string]string{"pages/index.html": "/", "pages/auction.html": "/auctions/x", "pages/schema.html": "/schemas/x",
			"pages/proof.html": "/proof", "pages/404.html": "/missing"}[p]).Body.String()
		for _, m := range ref.FindAllStringSubmatch(b, -1) {
			if _, ok := prepared.assets[m[1]]; !ok {
				t.Errorf("%s names /assets/%s, which does not exist", p, m[1])
			}
		}
	}
	scripts, _ := fs.Glob(files, "assets/*.js")
	for _, s := range scripts {
		b, _ := files.ReadFile(s)
		for _, m := range imp.FindAllStringSubmatch(string(b), -1) {
			if _, ok := prepared.assets[m[1]]; !ok {
				t.Errorf("%s imports ./%s, which does not exist", s, m[1])
			}
		}
	}
}

// User text is never parsed as HTML: no script uses the APIs that would.
func TestNoHTMLSinks(t *testing.T) {
	sink := regexp.MustCompile(`\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|createContextualFragment|\beval\(|new Function\(`)
	scripts, _ := fs.Glob(files, "assets/*.js")
	for _, s := range scripts {
		b, _ := files.ReadFile(s)
		if m := sink.Find(b); m != nil {
			t.Errorf("%s uses %s: set text with textContent and build nodes with h()", s, m)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{"": false, "gzip": true, "GZIP": true, "deflate, gzip": true, "gzip;q=0": false,
		"gzip; q=0.000": false, "gzip;q=0.5": true, "*": true, "br": false, "x-gzip": false} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}
