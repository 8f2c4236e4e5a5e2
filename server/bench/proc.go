package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"hotrow/internal/childproc"
)

// server is a server process under test: its pid is what /proc is read for.
type server struct {
	name string
	cmd  *exec.Cmd
	proc *childproc.Process
	log  *bytes.Buffer
}

// startServer starts cmd (its output kept for the error message) and waits
// until GET ready answers 200, or, with anyStatus, answers at all.
func startServer(ctx context.Context, name string, cmd *exec.Cmd, ready string, anyStatus bool) (*server, error) {
	s := &server{name: name, cmd: cmd, log: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	// Killed with the bench (SIGKILL when the thread that started it dies).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	p, err := childproc.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	s.proc = p
	if err := p.WaitReady(ctx, ready, 60*time.Second, anyStatus); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s: %w:\n%s", name, err, tail(s.log.String()))
	}
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop ends the server: SIGTERM, then SIGKILL after 10s.
func (s *server) stop() { s.proc.Stop(10 * time.Second) }

// cpu is the CPU time (user + system) the process has used so far.
func (s *server) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid()))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", s.pid())
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unreadable times", s.pid())
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// rss is the process's resident set size in bytes.
func (s *server) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", s.pid())
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// raiseFileLimit lifts this process's open-file limit to its hard limit
// (children inherit it), and reports the limit now in force.
func raiseFileLimit() (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return 0, err
		}
	}
	return r.Cur, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// selfCPU is the CPU time (user + system) this process, the load client,
// has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
