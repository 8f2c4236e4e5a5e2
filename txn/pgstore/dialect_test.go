package pgstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotrow/internal/testpg"
	"hotrow/rooms"
	"hotrow/rooms/auction"
)

// sqlRecorder is a pgx tracer that keeps every statement sent, alone or in
// a batch.
type sqlRecorder struct {
	mu   sync.Mutex
	sqls []string
}

func (r *sqlRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.sqls = append(r.sqls, d.SQL)
	r.mu.Unlock()
	return ctx
}

func (r *sqlRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *sqlRecorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	r.mu.Lock()
	for _, q := range d.Batch.QueuedQueries {
		r.sqls = append(r.sqls, q.SQL)
	}
	r.mu.Unlock()
	return ctx
}

func (r *sqlRecorder) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (r *sqlRecorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (r *sqlRecorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.sqls, "\n")
}

func tracedStore(t *testing.T, d Dialect, dsn string) (*Store, *sqlRecorder) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	rec := &sqlRecorder{}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return New(pool, d), rec
}

// exercise runs a create, a read and the log reads.
func exercise(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := auction.CreateRequest{ID: "d1", Title: "Dialect", StartingPrice: "1.00", Increment: "1.00"}.Build(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := auction.NewCreatedEvent(&a)
	if err := s.Auctions().Attempt(ctx, a.ID, rooms.Key{}, func(tx auction.Tx) error { return tx.Create(ctx, a, ev) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Auctions().Get(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EventsAfter(ctx, auction.Room("d1"), 0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Versions(ctx, []string{auction.Room("d1")}); err != nil {
		t.Fatal(err)
	}
}

// On DSQL, transactions begin with default options and nothing sets an
// isolation level or a session timeout (DSQL refuses them); on PostgreSQL
// they run at REPEATABLE READ, DSQL's snapshot isolation.
func TestDialectStatements(t *testing.T) {
	// The stand-in is PostgreSQL: create the tables in its dialect (DSQL's
	// CREATE INDEX ASYNC does not parse there), then run as DSQL.
	dsn := testpg.DSN(t)
	pg, _ := tracedStore(t, Postgres, dsn)
	if err := pg.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	s, rec := tracedStore(t, DSQL, dsn)
	exercise(t, s)
	sent := strings.ToLower(rec.all())
	for _, bad := range []string{"isolation", "set transaction", "statement_timeout", "set session"} {
		if strings.Contains(sent, bad) {
			t.Errorf("DSQL dialect sent %q:\n%s", bad, sent)
		}
	}
	if !strings.Contains(sent, "begin") {
		t.Errorf("no transaction was begun:\n%s", sent)
	}

	s, rec = tracedStore(t, Postgres, testpg.DSN(t))
	if err := s.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	exercise(t, s)
	if sent := strings.ToLower(rec.all()); !strings.Contains(sent, "isolation level repeatable read") {
		t.Errorf("PostgreSQL dialect did not begin at REPEATABLE READ:\n%s", sent)
	}
}
