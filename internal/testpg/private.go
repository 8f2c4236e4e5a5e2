package testpg

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a PostgreSQL server of one test's own, for fault tests that
// restart it or terminate its backends (which the shared server's other
// tests must not see). It holds one database, "hotrow".
type Server struct {
	t testing.TB
	s *server
}

// Private starts a server for t alone, stopped when t ends. Like DSN, it
// skips (or, under CI=true, fails) when PostgreSQL is not installed.
func Private(t testing.TB) *Server {
	t.Helper()
	s, miss, err := start()
	if miss != "" {
		msg := "testpg: PostgreSQL 15 is not installed: " + miss
		if inCI() {
			t.Fatalf("%s (CI=true: missing dependencies fail the build; install with %s)", msg, installAdvice)
		}
		t.Skipf("%s; install it with: %s", msg, installAdvice)
	}
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	p := &Server{t: t, s: s}
	t.Cleanup(func() {
		if err := p.s.stop(); err != nil {
			t.Errorf("testpg: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.exec(ctx, "CREATE DATABASE hotrow"); err != nil {
		t.Fatalf("testpg: %v", err)
	}
	return p
}

// DSN is the URL of the server's database.
func (p *Server) DSN() string { return p.s.dsn("hotrow") }

// Restart stops the server (fast shutdown: every connection is cut, open
// transactions roll back) and starts it again on the same port and data,
// returning once it answers. It may run on any goroutine.
func (p *Server) Restart() error {
	p.s.mu.Lock()
	if p.s.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		p.s.admin.Close(ctx)
		cancel()
		p.s.admin = nil
	}
	p.s.mu.Unlock()
	p.s.kill()
	ns, err := launch(p.s.postgres, p.s.dir, p.s.dataDir, p.s.cred, p.s.port)
	if err != nil {
		return fmt.Errorf("testpg: restarting: %w", err)
	}
	p.s = ns
	return nil
}

// TerminateBackends ends every backend connected to the database with
// pg_terminate_backend, as an operator or a failover would: their clients
// get 57P01 and a closed connection. It returns how many it ended. It may
// run on any goroutine.
func (p *Server) TerminateBackends() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, _ := url.Parse(p.s.dsn("postgres"))
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return 0, fmt.Errorf("testpg: %w", err)
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = 'hotrow' AND pid <> pg_backend_pid()) t`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("testpg: terminating backends: %w; log:\n%s", err, p.s.logTail())
	}
	return n, nil
}
