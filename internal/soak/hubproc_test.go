//go:build linux

package soak

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hotrow/internal/childproc"
)

// buildHub builds the hotrow binary into dir.
func buildHub(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "hotrow")
	cmd := exec.Command("go", "build", "-o", bin, "hotrow/server")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build hotrow/server: %v\n%s", err, out)
	}
	return bin
}

// hubProc is one hub process on PostgreSQL.
type hubProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	proc *childproc.Process
	url  string
	log  string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHub starts bin serve on dsn and waits until it is ready.
func startHub(t *testing.T, bin, dsn, logPath string, env ...string) *hubProc {
	t.Helper()
	addr := freeAddr(t)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	level := os.Getenv("HOTROW_SOAK_LOG_LEVEL")
	if level == "" {
		level = "debug" // each room load's timings, which the report reads
	}
	// The mix's join/leave rounds dial from one address far faster than the
	// per-address socket rate a hub allows the internet (20 a second): off,
	// as for any load test from one machine.
	limits := []string{"HOTROW_WS_CONN_RATE=0", "HOTROW_MAX_CONNS_PER_ADDR=0"}
	cmd.Env = append(os.Environ(), append(append([]string{"DATABASE_URL=" + dsn, "HOTROW_ADDR=" + addr, "HOTROW_LOG_LEVEL=" + level}, limits...), env...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p, err := childproc.Start(cmd)
	logf.Close()
	if err != nil {
		t.Fatal(err)
	}
	h := &hubProc{t: t, cmd: cmd, proc: p, url: "http://" + addr, log: logPath}
	t.Cleanup(h.stop)
	if err := p.WaitReady(context.Background(), h.url+"/readyz", 30*time.Second, false); err != nil {
		t.Fatalf("hub: %v; log %s", err, logPath)
	}
	return h
}

// stop drains the hub with SIGTERM and waits for it to exit.
func (h *hubProc) stop() {
	if h.proc.Stop(30 * time.Second) {
		h.t.Errorf("hub did not stop within 30s of SIGTERM; killed")
	}
}

// rss is the hub's resident set size in bytes, from /proc.
func (h *hubProc) rss() int64 {
	h.t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				h.t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	h.t.Fatal("no VmRSS in /proc status")
	return 0
}

// metric reads one unlabelled gauge or counter from the hub's /metrics.
func (h *hubProc) metric(name string) float64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	h.t.Fatalf("no metric %s", name)
	return 0
}
