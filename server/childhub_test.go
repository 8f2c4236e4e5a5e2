package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"hotrow/internal/childproc"
)

// childHub is a hub in a process of its own: this test binary run again as
// `hotrow serve` (runMainEnv), configured through the environment, so a test can kill it
// with SIGKILL the way a crash looks to everyone else.
type childHub struct {
	id      string
	url     string
	cmd     *exec.Cmd
	proc    *childproc.Process
	logPath string
}

// startChildHub starts a hub with env (NAME=value settings on top of the
// test's) and waits until /readyz answers 200.
func startChildHub(t *testing.T, id string, env ...string) *childHub {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	h := &childHub{id: id, url: "http://" + addr, logPath: filepath.Join(t.TempDir(), id+".log")}
	logf, err := os.Create(h.logPath)
	if err != nil {
		t.Fatal(err)
	}
	h.cmd = exec.Command(os.Args[0], "serve")
	h.cmd.Env = childEnv(append([]string{"HOTROW_ADDR=" + addr, "HOTROW_HUB_ID=" + id,
		"HOTROW_LOG_LEVEL=warn", "HOTROW_SHUTDOWN_TIMEOUT=5s"}, env...))
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.SysProcAttr = childSysProcAttr()
	if h.proc, err = childproc.Start(h.cmd); err != nil {
		t.Fatalf("starting hub %s: %v", id, err)
	}
	t.Cleanup(func() {
		h.stop()
		logf.Close()
		if t.Failed() {
			t.Logf("hub %s log (last lines):\n%s", id, tailFile(h.logPath, 30))
		}
	})
	if err := h.proc.WaitReady(context.Background(), h.url+"/readyz", 60*time.Second, false); err != nil {
		t.Fatalf("hub %s: %v\n%s", id, err, tailFile(h.logPath, 30))
	}
	return h
}

// kill sends SIGKILL: no drain, no goodbye, sockets cut.
func (h *childHub) kill() { h.proc.Kill() }

// stop ends the hub gracefully (SIGTERM), or kills it after 10s.
func (h *childHub) stop() { h.proc.Stop(10 * time.Second) }

// metric reads the sum of a metric family's series matching labels from
// the hub's /metrics.
func (h *childHub) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(h.url + "/metrics")
	if err != nil {
		t.Fatalf("hub %s metrics: %v", h.id, err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			ok = ok && strings.Contains(line, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
		}
		if !ok {
			continue
		}
		var v float64
		fields := strings.Fields(line)
		fmt.Sscan(fields[len(fields)-1], &v)
		sum += v
	}
	return sum
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func numCPU() int { return runtime.NumCPU() }
