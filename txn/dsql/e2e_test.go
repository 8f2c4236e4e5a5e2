package dsql

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotrow/internal/dsqldouble"
	"hotrow/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }

// The pool PoolConfig builds, end to end against the DSQL test double:
// TLS verify-full against the endpoint's name (the double's CA trusted,
// through Config.RootCAs or PGSSLROOTCERT), a token presigned with static
// credentials that the double checks (form, endpoint, region, action,
// expiry and signature), application_name, and transactions at DSQL's
// snapshot isolation.
func TestPoolAgainstTheDouble(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	open := func(t *testing.T, c Config) *pgxpool.Pool {
		t.Helper()
		pc, err := PoolConfig(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	base := Config{Endpoint: d.Endpoint(), Addr: d.Addr(), RootCAs: d.CertPool(),
		Credentials: dsqldouble.TestCredentialsProvider(), ApplicationName: "hotrow/e2e"}

	t.Run("admin", func(t *testing.T) {
		pool := open(t, base)
		var iso string
		if err := pool.QueryRow(ctx, `SELECT current_setting('transaction_isolation')`).Scan(&iso); err != nil {
			t.Fatal(err)
		}
		if iso != "repeatable read" {
			t.Errorf("transaction_isolation %q, want repeatable read (DSQL's snapshot isolation)", iso)
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range d.Sessions() {
			if s.User == "admin" && s.ApplicationName == "hotrow/e2e" {
				found = true
			}
		}
		if !found {
			t.Error("the double saw no admin session with application_name hotrow/e2e")
		}
	})

	t.Run("role", func(t *testing.T) {
		c := base
		c.User = "hotrow"
		if err := open(t, c).Ping(ctx); err != nil {
			t.Fatalf("a DbConnect token for role hotrow: %v", err)
		}
	})

	t.Run("PGSSLROOTCERT", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(file, d.CAPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PGSSLROOTCERT", file)
		c := base
		c.RootCAs = nil
		if err := open(t, c).Ping(ctx); err != nil {
			t.Fatalf("the CA from PGSSLROOTCERT: %v", err)
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		t.Setenv("PGSSLROOTCERT", "")
		c := base
		c.RootCAs = nil // the system's roots do not know the double's CA
		err := open(t, c).Ping(ctx)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("connected without trusting the certificate: %v", err)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		c := base
		c.Credentials = credentials.NewStaticCredentialsProvider(dsqldouble.TestAccessKeyID, "wrong", "")
		err := open(t, c).Ping(ctx)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28000" {
			t.Fatalf("a badly signed token: %v, want 28000", err)
		}
	})
}
