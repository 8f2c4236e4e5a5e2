package dsqldouble_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hotrow/internal/dsqldouble"
	"hotrow/internal/testpg"
	"hotrow/txn/dsql"
)

func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }

// connConfig is how a DSQL client connects to d: TLS verify-full against
// the endpoint name, a fresh IAM token for user as the password.
func connConfig(t testing.TB, d *dsqldouble.Double, user string) *pgx.ConnConfig {
	t.Helper()
	host, port, _ := net.SplitHostPort(d.Addr())
	p, _ := strconv.Atoi(port)
	cfg, err := pgx.ParseConfig("sslmode=verify-full dbname=postgres")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.User = host, uint16(p), user
	cfg.TLSConfig = &tls.Config{ServerName: d.Endpoint(), RootCAs: d.CertPool(), MinVersion: tls.VersionTLS12}
	cfg.Fallbacks = nil
	tok, err := dsql.Token(context.Background(), d.Endpoint(), d.Region(), user, dsqldouble.TestCredentialsProvider(), 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = tok
	return cfg
}

func connect(t testing.TB, d *dsqldouble.Double) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, connConfig(t, d, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// mustExec runs statements that must succeed.
func mustExec(t testing.TB, c *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, s := range sqls {
		if _, err := c.Exec(ctx(t), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// pgErr returns err's *pgconn.PgError, or fails.
func pgErr(t testing.TB, err error) *pgconn.PgError {
	t.Helper()
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a PostgreSQL error", err, err)
	}
	return e
}

// wantErr checks err is the recorded SQLSTATE and message.
func wantErr(t testing.TB, what string, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s %q", what, code, msg)
	}
	e := pgErr(t, err)
	if e.Code != code || e.Message != msg {
		t.Fatalf("%s: %s %q, want %s %q", what, e.Code, e.Message, code, msg)
	}
}
