//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hotrow/internal/childproc"
	"hotrow/internal/clock"
	"hotrow/internal/testpg"
	"hotrow/rooms/cursors"
	"hotrow/txn/memstore"
)

// The browser suite: Debian's Chromium driven by playwright-core (pinned in
// tools/package-lock.json, no browser download) runs the scenarios in
// tools/browser against real hubs started here. Screenshots of every page
// go to artifacts/browser/ at the repository root (HOTROW_ARTIFACTS
// overrides; the directory is git-ignored). Without Chromium, node or
// playwright-core the tests skip and say what to install; under CI=true
// they fail. Both tests are parallel: they run together, after the
// package's sequential tests, while go test runs the other packages.

const browserInstallAdvice = "run make test-deps (apt-get install chromium nodejs npm; npm ci in tools/)"

type browserTools struct {
	node, chromium, scripts, artifacts string
}

func findBrowserTools(t *testing.T) browserTools {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node is not on PATH")
	}
	chromium := os.Getenv("HOTROW_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if fi, err := os.Stat(chromium); err != nil || fi.Mode()&0o111 == 0 {
		missing = append(missing, chromium+" is missing")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core is not installed in tools/node_modules")
	}
	if len(missing) > 0 {
		msg := "browser tests: " + strings.Join(missing, "; ")
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: missing dependencies fail the build; %s)", msg, browserInstallAdvice)
		}
		t.Skipf("%s; %s", msg, browserInstallAdvice)
	}
	artifacts := os.Getenv("HOTROW_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(root, "artifacts", "browser")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	return browserTools{node: node, chromium: chromium, scripts: filepath.Join(root, "tools", "browser"), artifacts: artifacts}
}

// control is a request from a scenario to the test ("@@ {json}" on stdout).
type control struct {
	Cmd string `json:"cmd"`
}

// runBrowser runs one scenario file with node, bounded in time, logging
// its output; a control request is answered by onControl. It fails the
// test with the failing scenarios' lines.
func runBrowser(t *testing.T, tools browserTools, script string, env []string, onControl func(control) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tools.node, filepath.Join(tools.scripts, script))
	cmd.Dir = tools.scripts
	cmd.Env = append(os.Environ(), append(env, "HOTROW_CHROMIUM="+tools.chromium, "HOTROW_ARTIFACTS="+tools.artifacts)...)
	// Node and its Chromium in their own process group, killed together
	// on timeout and when this test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	p, err := childproc.Start(cmd)
	if err != nil {
		t.Fatalf("starting node: %v", err)
	}
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }()

	var failures []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if req, ok := strings.CutPrefix(line, "@@ "); ok {
			var c control
			reply := map[string]any{"ok": true}
			if err := json.Unmarshal([]byte(req), &c); err != nil {
				reply = map[string]any{"ok": false, "error": err.Error()}
			} else if err := onControl(c); err != nil {
				reply = map[string]any{"ok": false, "error": err.Error()}
			}
			b, _ := json.Marshal(reply)
			_, _ = stdin.Write(append(b, '\n'))
			continue
		}
		t.Log(line)
		if strings.HasPrefix(line, "FAIL ") {
			failures = append(failures, line)
		}
	}
	<-p.Exited
	if p.Err != nil || len(failures) > 0 {
		if ctx.Err() != nil {
			t.Errorf("the browser suite %s took over 4 minutes and was killed", script)
		}
		t.Errorf("browser suite %s: %v\n%s\nstderr:\n%s", script, p.Err, strings.Join(failures, "\n"), tail(stderr.String(), 4000))
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestBrowserPages: the lobby, two people bidding to the close, anti-snipe,
// the watcher count, two people in one schema document (edits, cursors, a
// stale edit, the collaborators beyond the 32 drawn), the proof panel to
// all green, and every page at 375 px, on one hub in development mode;
// signing in with tokens, rights and expiry on a second hub that has a
// token secret.
func TestBrowserPages(t *testing.T) {
	t.Parallel()
	tools := findBrowserTools(t)
	h := memHub(t)
	const secret = "browser-suite-secret"
	cfg := testConfig("tokens")
	cfg.TokenSecret = secret
	a, err := newApp(cfg, memstore.New(clock.Real{}), cursors.NewMemStore(), testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	th := serveApp(t, a)
	env := []string{"HOTROW_BASE_URL=" + h.url, "HOTROW_TOKEN_URL=" + th.url, "HOTROW_TEST_TOKEN_SECRET=" + secret}
	runBrowser(t, tools, "pages.mjs", env, func(c control) error {
		return fmt.Errorf("unknown command %q", c.Cmd)
	})
}

// TestBrowserHubRestartPostgres: a page on hub A survives A's restart while
// another page bids through hub B on the same PostgreSQL; it shows the bids
// it missed and sends the bid made while it was offline.
func TestBrowserHubRestartPostgres(t *testing.T) {
	t.Parallel()
	tools := findBrowserTools(t)
	dsn := testpg.DSN(t)
	b := startHub(t, pgStore(t, dsn), "pg-b")
	a := &restartableHub{t: t, dsn: dsn, id: "pg-a"}
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.stop() })
	runBrowser(t, tools, "restart.mjs", []string{"HOTROW_BASE_URL=" + a.url(), "HOTROW_OTHER_URL=" + b.url}, func(c control) error {
		switch c.Cmd {
		case "stop":
			return a.stop()
		case "start":
			return a.start()
		}
		return fmt.Errorf("unknown command %q", c.Cmd)
	})
}

// restartableHub is a hub on PostgreSQL that stops (draining, as on
// SIGTERM) and starts again on the same address.
type restartableHub struct {
	t    *testing.T
	dsn  string
	id   string
	addr string
	app  *app
	srv  *http.Server
}

func (h *restartableHub) url() string { return "http://" + h.addr }

func (h *restartableHub) start() error {
	addr := h.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old listener's port may take a moment to free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("listening on %s again: %w", addr, err)
	}
	h.addr = ln.Addr().String()
	if h.app, err = newApp(testConfig(h.id), pgStore(h.t, h.dsn), cursors.NewMemStore(), testLogger(h.t), clock.Real{}); err != nil {
		return err
	}
	h.srv = &http.Server{Handler: h.app.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.srv.Serve(ln) }()
	return nil
}

func (h *restartableHub) stop() error {
	if h.app == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.app.shutdown(ctx)
	if cerr := h.srv.Close(); cerr != nil && !errors.Is(cerr, http.ErrServerClosed) {
		err = errors.Join(err, cerr)
	}
	h.app, h.srv = nil, nil
	return err
}
