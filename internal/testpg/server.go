package testpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"hotrow/internal/childproc"
)

const (
	dirPrefix    = "hotrow-testpg-"
	readyTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

// server is one running postgres process and its temporary directory.
type server struct {
	dir     string // temp dir: data/, the unix socket, postgres.log
	logPath string
	port    int
	cmd     *exec.Cmd
	proc    *childproc.Process

	// what launch needs to start it again (Private's Restart)
	postgres, dataDir string
	cred              *syscall.Credential

	mu    sync.Mutex // guards admin
	admin *pgx.Conn  // to database "postgres", for CREATE/DROP DATABASE
}

// start returns a running server, or missing != "" when a binary is absent,
// or err when something else went wrong.
func start() (s *server, missing string, err error) {
	binDir := os.Getenv("HOTROW_PG_BIN")
	if binDir == "" {
		binDir = DefaultBinDir
	}
	initdb, postgres := filepath.Join(binDir, "initdb"), filepath.Join(binDir, "postgres")
	for _, p := range []string{initdb, postgres} {
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, "no executable " + p + " (set HOTROW_PG_BIN to the server's bin directory to use another install)", nil
		}
	}

	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root: run them as "postgres".
		if cred, err = postgresUser(); err != nil {
			return nil, "", err
		}
	}

	sweepStale()
	dir, err := os.MkdirTemp(os.TempDir(), dirPrefix)
	if err != nil {
		return nil, "", fmt.Errorf("temp dir: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	// 0755 so the postgres user can traverse to its data dir even when the
	// temp dir belongs to someone else; the owner file lets a later run remove
	// this directory if this test binary is killed.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, "", err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, "", fmt.Errorf("chown %s to postgres: %w", dir, err)
		}
	}

	dataDir := filepath.Join(dir, "data")
	initCmd := exec.Command(initdb, "-D", dataDir, "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initCmd.Env = childEnv()
	initCmd.Dir = dir
	initCmd.SysProcAttr = sysProcAttr(cred, syscall.SIGKILL)
	var initOut bytes.Buffer
	initCmd.Stdout, initCmd.Stderr = &initOut, &initOut
	if err := initCmd.Run(); err != nil {
		return nil, "", fmt.Errorf("initdb failed: %v\n%s", err, tail(initOut.Bytes(), 40))
	}

	// A port picked by listening on :0 can be taken by someone else before
	// postgres binds it: try a few.
	for attempt := 1; ; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			return nil, "", err
		}
		s, err = launch(postgres, dir, dataDir, cred, port)
		if err == nil {
			ok = true
			return s, "", nil
		}
		if attempt == 3 || !errors.Is(err, errAddrInUse) {
			return nil, "", err
		}
	}
}

var errAddrInUse = errors.New("port in use")

func launch(postgres, dir, dataDir string, cred *syscall.Credential, port int) (*server, error) {
	s := &server{dir: dir, logPath: filepath.Join(dir, "postgres.log"), port: port,
		postgres: postgres, dataDir: dataDir, cred: cred}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own copy

	cmd := exec.Command(postgres, "-D", dataDir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "shared_buffers=128MB",
	)
	cmd.Env = childEnv()
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group (a ^C to the test does not hit it directly) and, on
	// Linux, SIGINT (fast shutdown) when the thread that started it dies, so a
	// killed test binary does not leave a server behind.
	cmd.SysProcAttr = sysProcAttr(cred, syscall.SIGINT)
	s.cmd = cmd

	proc, err := childproc.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s.proc = proc

	if err := s.waitReady(); err != nil {
		s.kill()
		if strings.Contains(s.logTail(), "could not bind") {
			return nil, fmt.Errorf("%w: %v", errAddrInUse, err)
		}
		return nil, err
	}
	return s, nil
}

// waitReady connects until the server answers, it exits, or readyTimeout.
func (s *server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.proc.Exited:
			return fmt.Errorf("postgres exited during start-up (%v); log %s:\n%s", s.proc.Err, s.logPath, s.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.dsn("postgres"))
		cancel()
		if err == nil {
			s.admin = conn
			return nil
		}
		lastErr = err
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("postgres not ready after %v (last error: %v); log %s:\n%s", readyTimeout, lastErr, s.logPath, s.logTail())
}

func (s *server) dsn(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// exec runs one statement on the admin connection.
func (s *server) exec(ctx context.Context, sql string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == nil || s.admin.IsClosed() {
		conn, err := pgx.Connect(ctx, s.dsn("postgres"))
		if err != nil {
			return fmt.Errorf("%w; log tail:\n%s", err, s.logTail())
		}
		s.admin = conn
	}
	if _, err := s.admin.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// stop shuts postgres down (fast mode), then removes the temp dir.
func (s *server) stop() error {
	s.mu.Lock()
	if s.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.admin.Close(ctx)
		cancel()
		s.admin = nil
	}
	s.mu.Unlock()

	var err error
	if !s.kill() {
		err = fmt.Errorf("postgres did not stop within %v; killed its process group", stopTimeout)
	}
	if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// kill sends SIGINT (fast shutdown) and waits; after stopTimeout it SIGKILLs
// the whole process group. It reports whether the fast shutdown sufficed.
func (s *server) kill() bool {
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGINT)
	select {
	case <-s.proc.Exited:
		return true
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-s.proc.Exited
	return false
}

func (s *server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return tail(b, 30)
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// postgresUser returns the credentials of the "postgres" system user.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, initdb needs the postgres system user (created by %s): %w", installAdvice, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has non-numeric uid/gid %q/%q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// childEnv is this process's environment without libpq/postgres variables,
// which could redirect initdb or postgres.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// sweepStale removes temp dirs left by test binaries that were killed before
// they could clean up (their postgres got Pdeathsig and stopped).
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // owner alive (or unknown): leave it alone
		}
		if pgPidAlive(filepath.Join(d, "data", "postmaster.pid")) {
			continue // its postgres is still shutting down
		}
		os.RemoveAll(d)
	}
}

func pgPidAlive(pidFile string) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	return err == nil && pid > 0 && syscall.Kill(pid, 0) != syscall.ESRCH
}
