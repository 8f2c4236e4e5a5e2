// Package testdynalite runs a real dynalite (npm dynalite, pinned in
// tools/package.json) for integration tests of DynamoDB code.
//
//	srv := testdynalite.Start(t)
//	cfg.BaseEndpoint = aws.String(srv.Endpoint()) // with static credentials
//
// dynalite keeps its data in memory, listens on a free loopback port and is
// stopped when the test ends. Stop and Restart simulate an outage.
//
// dynalite's cli.js is looked up in $HOTROW_DYNALITE, else in
// <repo root>/tools/node_modules/dynalite/cli.js (install it with
// make test-deps). When node or dynalite is missing the test is skipped,
// except under CI=true, where it fails.
package testdynalite

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hotrow/internal/childproc"
)

const (
	readyTimeout = 15 * time.Second
	installHint  = "run make test-deps (needs node + npm)"
)

// Server is one dynalite process. Its port is fixed at Start and reused by
// Restart.
type Server struct {
	node, cli string
	port      int

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of dynalite.
type process struct {
	cmd  *exec.Cmd
	out  *tailBuffer
	proc *childproc.Process
}

// Start launches dynalite on a free loopback port, in memory, and waits until
// it accepts connections. It is stopped in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	node, cli, missing := locate()
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testdynalite: %s (CI=true: missing dependencies fail the build; %s)", missing, installHint)
		}
		t.Skipf("testdynalite: %s; %s", missing, installHint)
	}
	s := &Server{node: node, cli: cli}
	t.Cleanup(func() { s.Stop(t) })

	// A port picked by listening on :0 can be taken before dynalite binds
	// it: try a few.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.launch(); err == nil {
			return s
		}
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatalf("testdynalite: %v", err)
	return nil
}

// Endpoint is the base URL to give the AWS SDK, "http://127.0.0.1:PORT".
func (s *Server) Endpoint() string {
	return "http://" + s.Addr()
}

// Addr is the "127.0.0.1:PORT" dynalite listens on.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Stop kills dynalite, simulating an outage: connections to Endpoint are
// refused until Restart. Stopping a stopped server does nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	s.proc.kill()
	s.proc = nil
}

// Restart starts dynalite again on the same port (stopping it first if it
// is running) and waits until it accepts connections. The data is gone:
// dynalite keeps it in memory.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	// The port was ours a moment ago; if something else grabbed it in the
	// meantime, give it a short while to let go.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.launch()
		if err == nil {
			return
		}
		if !errors.Is(err, errAddrInUse) || time.Now().After(deadline) {
			t.Fatalf("testdynalite: restart on port %d: %v", s.port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var errAddrInUse = errors.New("port in use")

// launch starts dynalite on s.port and waits until it is ready.
func (s *Server) launch() error {
	cmd := exec.Command(s.node, s.cli,
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(s.port),
		// Tables become ACTIVE at once: tests need not wait 500ms per table.
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0",
	)
	cmd.Dir = filepath.Dir(s.cli)
	p := &process{cmd: cmd, out: &tailBuffer{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Own process group; on Linux also SIGKILL when the thread that started
	// it dies, so a killed test binary does not leave dynalite behind.
	cmd.SysProcAttr = sysProcAttr()

	proc, err := childproc.Start(cmd)
	if err != nil {
		return fmt.Errorf("start %s %s: %w", s.node, s.cli, err)
	}
	p.proc = proc

	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-p.proc.Exited:
			out := p.out.String()
			err := fmt.Errorf("dynalite exited during start-up (%v); output:\n%s", p.proc.Err, out)
			if strings.Contains(out, "EADDRINUSE") {
				err = fmt.Errorf("%w: %v", errAddrInUse, err)
			}
			return err
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("dynalite not listening on %s after %v (last error: %v); output:\n%s", s.Addr(), readyTimeout, err, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill SIGKILLs the process group and waits for the process to exit.
func (p *process) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.proc.Exited
}

// locate finds node and dynalite's cli.js; missing says what is absent.
func locate() (node, cli, missing string) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "", "node is not on PATH"
	}
	if cli = os.Getenv("HOTROW_DYNALITE"); cli != "" {
		if _, err := os.Stat(cli); err != nil {
			return "", "", "HOTROW_DYNALITE=" + cli + " does not exist"
		}
		return node, cli, ""
	}
	root, err := repoRoot()
	if err != nil {
		return "", "", err.Error()
	}
	cli = filepath.Join(root, "tools", "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return "", "", "dynalite is not installed (no " + cli + ")"
	}
	return node, cli, ""
}

// repoRoot walks up from the working directory to the one holding go.mod.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above %s to find tools/node_modules/dynalite (or set HOTROW_DYNALITE)", wd)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last 8 KiB written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 8 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailMax {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
