// Package testpg gives integration tests a real PostgreSQL 15 server.
//
// One server is started per test binary, on first use, in a temporary
// directory; every call to DSN creates a fresh, empty database for the calling
// test and drops it when the test ends. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		conn, err := pgx.Connect(ctx, testpg.DSN(t))
//		...
//	}
//
// The server binaries are looked up in $HOTROW_PG_BIN, else
// /usr/lib/postgresql/15/bin. When they are missing the test is skipped with
// install advice, except under CI=true, where it fails.
package testpg

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBinDir is where Debian's postgresql-15 package installs the server.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// installAdvice is what a developer must do when the server binaries are missing.
const installAdvice = "apt-get install postgresql-15 (or run make test-deps, i.e. scripts/test-deps.sh)"

var (
	startOnce sync.Once
	shared    *server // nil until started successfully
	startErr  error   // why the start failed, if it did
	missing   string  // non-empty when a binary is missing (skip, or fail in CI)

	dbSeq atomic.Int64
)

// Run runs the tests and then stops the shared server, if one was started.
// Call it from TestMain: os.Exit(testpg.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testpg: %v\n", err)
		}
	}
	return code
}

// DSN starts the shared server on first use and returns a URL DSN for a new,
// empty database created for this test. The database is dropped, with
// WITH (FORCE), in t.Cleanup; close your connections in a cleanup registered
// after calling DSN (cleanups run last-in first-out) or let FORCE end them.
func DSN(t testing.TB) string {
	t.Helper()
	startOnce.Do(func() { shared, missing, startErr = start() })
	if missing != "" {
		msg := "testpg: PostgreSQL 15 is not installed: " + missing
		if inCI() {
			t.Fatalf("%s (CI=true: missing dependencies fail the build; install with %s)", msg, installAdvice)
		}
		t.Skipf("%s; install it with: %s", msg, installAdvice)
	}
	if startErr != nil {
		t.Fatalf("testpg: %v", startErr)
	}

	name := dbName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := shared.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testpg: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := shared.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testpg: drop database %s: %v", name, err)
		}
	})
	return shared.dsn(name)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// dbName makes a unique, readable database name (at most 63 bytes) for a test.
func dbName(testName string) string {
	s := unsafeChars.ReplaceAllString(strings.ToLower(testName), "_")
	s = strings.Trim(s, "_")
	if len(s) > 40 {
		s = s[:40]
	}
	return fmt.Sprintf("t%d_%d_%s", os.Getpid(), dbSeq.Add(1), s)
}

func inCI() bool { return os.Getenv("CI") == "true" }
