package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// liveHub is a real hotrow process on a loopback port.
type liveHub struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	done chan error

	mu   sync.Mutex
	logs strings.Builder
}

func (h *liveHub) log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.logs.String()
}

// startLiveHub runs the built hub on the embedded store, on a port the
// kernel picks, and waits for its "listening" line.
func startLiveHub(t *testing.T) *liveHub {
	t.Helper()
	bin := hotrowBinary(t)
	cmd := exec.Command(bin, "serve", "-addr", "127.0.0.1:0", "-log-format", "json", "-hub-id", "deploy-test",
		"-shutdown-timeout", "10s")
	// Only the embedded stores: nothing from the caller's environment.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HOTROW_") || strings.HasPrefix(k, "DSQL_") || strings.HasPrefix(k, "DYNAMODB_") || k == "DATABASE_URL" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &liveHub{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			h.mu.Lock()
			h.logs.WriteString(line + "\n")
			h.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "hotrow listening" {
				addr <- rec.Addr
			}
		}
		h.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-h.done
		}
	})
	select {
	case a := <-addr:
		h.base = "http://" + a
	case err := <-h.done:
		t.Fatalf("hub exited before listening: %v\n%s", err, h.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("hub not listening after 30s:\n%s", h.log())
	}
	return h
}

func (h *liveHub) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(h.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (h *liveHub) post(t *testing.T, path, body string) (int, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(h.base+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// scrape reads /metrics in the text format.
func (h *liveHub) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := h.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// stop sends SIGTERM, as the kubelet does after preStop, and waits for a
// clean exit.
func (h *liveHub) stop(t *testing.T, within time.Duration) {
	t.Helper()
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("hub exited with %v after SIGTERM:\n%s", err, h.log())
		}
	case <-time.After(within):
		t.Fatalf("hub still running %v after SIGTERM", within)
	}
	if !strings.Contains(h.log(), "shut down cleanly") {
		t.Errorf("no clean shutdown in the log:\n%s", h.log())
	}
}

// socket is a minimal test client of the wire protocol.
type socket struct {
	t  *testing.T
	ws *websocket.Conn
}

func dial(t *testing.T, h *liveHub, user string) *socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.base, "http")+"/ws?user="+user, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	s := &socket{t: t, ws: ws}
	s.until("welcome")
	return s
}

func (s *socket) send(v any) {
	s.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.ws.Write(ctx, websocket.MessageText, b); err != nil {
		s.t.Fatal(err)
	}
}

// until reads frames until one of the given type arrives (10s at most).
func (s *socket) until(typ string) map[string]any {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := s.ws.Read(ctx)
		if err != nil {
			s.t.Fatalf("waiting for %s: %v", typ, err)
		}
		var f map[string]any
		if err := json.Unmarshal(b, &f); err != nil {
			s.t.Fatalf("frame %s: %v", b, err)
		}
		if f["type"] == typ {
			return f
		}
		if f["type"] == "error" || f["type"] == "reject" {
			s.t.Fatalf("waiting for %s, got %s", typ, b)
		}
	}
}

// trafficOnLiveHub runs what an SRE's dashboard shows: the binary's own load
// test (bids over sockets, an auction that closes), a schema edit and a
// cursor over a socket.
func trafficOnLiveHub(t *testing.T, h *liveHub) {
	t.Helper()
	out := run(t, "", nil, hotrowBinary(t), "loadtest", "-url", h.base, "-bidders", "4", "-bids", "1",
		"-auction-for", "2s", "-timeout", "60s")
	if !strings.Contains(out, "every invariant holds") {
		t.Fatalf("loadtest:\n%s", out)
	}
	if code, body := h.post(t, "/api/schemas", `{"id":"deploytest","name":"Deploy test"}`); code != http.StatusCreated {
		t.Fatalf("create schema: %d %s", code, body)
	}
	s := dial(t, h, "sre")
	s.send(map[string]any{"type": "join", "room": "schema:deploytest"})
	s.until("joined")
	s.send(map[string]any{"type": "edit", "room": "schema:deploytest", "id": "e1",
		"op": map[string]any{"kind": "create_table", "name": "bids"}})
	s.until("ack")
	s.send(map[string]any{"type": "cursor", "room": "schema:deploytest", "pos": map[string]any{"x": 1, "y": 2}})
	s.until("cursors")
	s.ws.Close(websocket.StatusNormalClosure, "done")
}

// TestLiveHub starts a hub, runs traffic, scrapes it, and checks the
// dashboard and the alerts against what it exported; then drains it.
func TestLiveHub(t *testing.T) {
	h := startLiveHub(t)
	if code, body := h.get(t, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	trafficOnLiveHub(t, h)
	fams := h.scrape(t)
	var names []string
	for n := range fams {
		if strings.HasPrefix(n, "hotrow_") {
			names = append(names, n)
		}
	}
	t.Logf("hotrow families exported: %s", strings.Join(sortedCopy(names), " "))
	if v := gaugeValue(fams, "hotrow_ready"); v != 1 {
		t.Errorf("hotrow_ready = %v on a serving hub", v)
	}

	t.Run("dashboard", func(t *testing.T) { checkDashboard(t, fams) })
	t.Run("alerts", func(t *testing.T) { checkAlertMetrics(t, fams) })

	// The drain the Deployment's grace period is sized for.
	h.stop(t, 20*time.Second)
}

func gaugeValue(fams map[string]*dto.MetricFamily, name string) float64 {
	f := fams[name]
	if f == nil || len(f.GetMetric()) == 0 {
		return -1
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
