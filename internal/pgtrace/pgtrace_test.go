package pgtrace_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotrow/internal/dsqldouble"
	"hotrow/internal/pgtrace"
	"hotrow/internal/testpg"
	"hotrow/txn/dsql"
)

func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }

// The tracer's count against the round trips the DSQL test double saw on
// the wire, step by step, on one connection with pings off.
func TestRoundTripsMatchTheWire(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := dsql.PoolConfig(ctx, dsql.Config{Endpoint: d.Endpoint(), Addr: d.Addr(), RootCAs: d.CertPool(),
		Credentials: dsqldouble.TestCredentialsProvider(), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	rt := &pgtrace.RoundTrips{}
	pc.ConnConfig.Tracer = rt
	pc.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY, v text)`); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		want int64
		run  func(ctx context.Context) error
	}{
		{"a new statement: prepare, then execute", 2, func(ctx context.Context) error {
			_, err := pool.Exec(ctx, `INSERT INTO t VALUES ($1, $2)`, 1, "a")
			return err
		}},
		{"a cached statement", 1, func(ctx context.Context) error {
			_, err := pool.Exec(ctx, `INSERT INTO t VALUES ($1, $2)`, 2, "b")
			return err
		}},
		{"a transaction: begin, a cached query, a batch of cached statements, commit", 4, func(ctx context.Context) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, $2)`, 3, "c"); err != nil {
					return err
				}
				b := &pgx.Batch{}
				b.Queue(`INSERT INTO t VALUES ($1, $2)`, 4, "d")
				b.Queue(`INSERT INTO t VALUES ($1, $2)`, 5, "e")
				return tx.SendBatch(ctx, b).Close()
			})
		}},
	}
	for _, s := range steps {
		before := d.RoundTrips()
		sctx, scope := rt.Scope(ctx)
		if err := s.run(sctx); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		wire := d.RoundTrips() - before
		if scope.N() != s.want || wire != s.want {
			t.Errorf("%s: tracer %d, wire %d, want %d", s.name, scope.N(), wire, s.want)
		}
	}
}
