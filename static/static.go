// Package static holds the web pages and serves them from the binary: no
// CDN, no build step, everything embedded with go:embed.
//
// Caching (README, "The pages"): the assets (CSS, JavaScript modules, the
// icon) are served under /assets/<hash>/, where <hash> is a digest of every
// asset, with Cache-Control: public, max-age=31536000, immutable; the pages
// name them through that prefix and the modules import each other by
// relative URLs, so they inherit it. The HTML pages are served with
// Cache-Control: no-cache and an ETag, so a browser revalidates them on
// every load (a 304 when nothing changed) and a new release's assets are
// picked up at once. An asset asked for under another hash (a page from an
// older or newer hub during a rolling deploy) is served as it is here, with
// no-cache, so no cache keeps the wrong bytes under a versioned name.
//
// Compression: each file is gzipped once at start-up (best compression) and
// served gzipped to clients that accept it, with Vary: Accept-Encoding.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed pages assets
var files embed.FS

// file is one prepared response body.
type file struct {
	body, gz []byte
	ctype    string
	etag     string // strong, of body; the gzip variant's is etag + "-gz"
}

type site struct {
	hash   string
	assets map[string]*file // by name under assets/
	pages  map[string]*file // by name under pages/
}

var (
	once     sync.Once
	prepared *site
)

// Handler serves the pages and their assets. Routes:
//
//	/                 the lobby (pages/index.html)
//	/auctions/{id}    an auction room
//	/schemas/{id}     a schema designer
//	/proof            the proof panel
//	/assets/[hash/]F  an asset
//	/favicon.ico      the icon (an SVG; the pages link it themselves)
func Handler() http.Handler {
	once.Do(func() { prepared = prepare() })
	return prepared
}

// AssetPrefix is the URL prefix the pages name the assets by.
func AssetPrefix() string {
	Handler()
	return "/assets/" + prepared.hash + "/"
}

func prepare() *site {
	s := &site{assets: map[string]*file{}, pages: map[string]*file{}}
	names, _ := fs.Glob(files, "assets/*")
	sort.Strings(names)
	all := sha256.New()
	for _, n := range names {
		b, _ := files.ReadFile(n)
		all.Write([]byte(n))
		all.Write(b)
		s.assets[strings.TrimPrefix(n, "assets/")] = newFile(n, b)
	}
	s.hash = hex.EncodeToString(all.Sum(nil))[:12]
	pages, _ := fs.Glob(files, "pages/*.html")
	for _, n := range pages {
		b, _ := files.ReadFile(n)
		b = bytes.ReplaceAll(b, []byte(`"/assets/`), []byte(`"/assets/`+s.hash+`/`))
		s.pages[strings.TrimPrefix(n, "pages/")] = newFile(n, b)
	}
	return s
}

func newFile(name string, b []byte) *file {
	f := &file{body: b, ctype: mime.TypeByExtension(path.Ext(name))}
	switch path.Ext(name) {
	case ".js", ".mjs":
		f.ctype = "text/javascript; charset=utf-8"
	case ".svg":
		f.ctype = "image/svg+xml"
	case ".html":
		f.ctype = "text/html; charset=utf-8"
	case ".css":
		f.ctype = "text/css; charset=utf-8"
	}
	sum := sha256.Sum256(b)
	f.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	if buf.Len() < len(b) {
		f.gz = buf.Bytes()
	}
	return f
}

// csp allows nothing but this origin: no inline script or style, no
// plug-ins, no framing. User text is only ever set as text, and this is
// the second line of defence.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/" || p == "/index.html":
		s.page(w, r, "index.html", http.StatusOK)
	case p == "/proof":
		s.page(w, r, "proof.html", http.StatusOK)
	case roomPath(p, "/auctions/"):
		s.page(w, r, "auction.html", http.StatusOK)
	case roomPath(p, "/schemas/"):
		s.page(w, r, "schema.html", http.StatusOK)
	case p == "/favicon.ico":
		s.asset(w, r, "favicon.svg", "public, max-age=86400")
	case strings.HasPrefix(p, "/assets/"):
		rest := strings.TrimPrefix(p, "/assets/")
		cache := "no-cache"
		if h, name, ok := strings.Cut(rest, "/"); ok {
			rest = name
			if h == s.hash {
				cache = "public, max-age=31536000, immutable"
			}
		}
		s.asset(w, r, rest, cache)
	default:
		s.page(w, r, "404.html", http.StatusNotFound)
	}
}

// roomPath reports whether p is prefix followed by a room id.
func roomPath(p, prefix string) bool {
	id, ok := strings.CutPrefix(p, prefix)
	if !ok || id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *site) page(w http.ResponseWriter, r *http.Request, name string, status int) {
	f := s.pages[name]
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	s.serve(w, r, f, "no-cache", status)
}

func (s *site) asset(w http.ResponseWriter, r *http.Request, name, cache string) {
	f, ok := s.assets[name]
	if !ok {
		s.page(w, r, "404.html", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.serve(w, r, f, cache, http.StatusOK)
}

func (s *site) serve(w http.ResponseWriter, r *http.Request, f *file, cache string, status int) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", cache)
	body, etag := f.body, f.etag
	if f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	if status == http.StatusOK {
		h.Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && matches(inm, etag) {
			h.Del("Content-Type")
			h.Del("Content-Encoding")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func matches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) listed without
// q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			return false
		}
		return true
	}
	return false
}
