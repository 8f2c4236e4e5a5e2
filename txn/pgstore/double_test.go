package pgstore_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"hotrow/internal/clock"
	"hotrow/internal/dsqldouble"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/rooms/auction/auctiontest"
	"hotrow/rooms/schema/schematest"
	"hotrow/txn"
	"hotrow/txn/dsql"
	"hotrow/txn/pgstore"
)

// dsqlStore is the DSQL store as a hub opens it (txn/dsql's pool, the DSQL
// dialect), connected to the DSQL test double d.
func dsqlStore(t *testing.T, d *dsqldouble.Double) *pgstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := dsql.PoolConfig(ctx, dsql.Config{Endpoint: d.Endpoint(), Addr: d.Addr(), RootCAs: d.CertPool(),
		Credentials: dsqldouble.TestCredentialsProvider(), ApplicationName: "hotrow/test"})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	s := pgstore.New(pool, pgstore.DSQL)
	t.Cleanup(s.Close)
	return s
}

// migratedDSQLStore is dsqlStore after Migrate.
func migratedDSQLStore(t *testing.T, d *dsqldouble.Double) *pgstore.Store {
	t.Helper()
	s := dsqlStore(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// oneSchema checks what a migrated database holds: every table once, the
// index built by a completed job, every migration recorded once.
func oneSchema(t *testing.T, s *pgstore.Store) {
	t.Helper()
	ctx := context.Background()
	var tables, indexes, records, jobs int
	if err := s.Pool().QueryRow(ctx, `SELECT
        (SELECT count(*) FROM pg_tables WHERE schemaname = 'public'),
        (SELECT count(*) FROM pg_indexes WHERE indexname IN ('auctions_created_at', 'applied_room_version')),
        (SELECT count(DISTINCT version) FROM hotrow_migrations),
        (SELECT count(DISTINCT object_name) FROM sys.jobs WHERE object_name IN ('public.auctions_created_at', 'public.applied_room_version')
            AND status = 'completed' AND details IS NULL)`).
		Scan(&tables, &indexes, &records, &jobs); err != nil {
		t.Fatal(err)
	}
	if tables != 12 || indexes != 2 || records != len(pgstore.Migrations) || jobs != 2 {
		t.Fatalf("after migrating: %d tables (want 12), %d indexes (want 2), %d migrations recorded (want %d), %d indexes built by a completed job (want 2)",
			tables, indexes, records, len(pgstore.Migrations), jobs)
	}
}

// hotrow migrate against something that answers as DSQL does: one DDL per
// transaction, CREATE INDEX ASYNC, CALL sys.wait_for_job, sys.jobs; and
// again, as a no-op.
func TestMigrateOnTheDSQLDouble(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	s := migratedDSQLStore(t, d)
	oneSchema(t, s)
	if err := s.Migrate(context.Background(), nil); err != nil {
		t.Fatalf("migrating again: %v", err)
	}
	oneSchema(t, s)
}

// Three hubs migrate one database at the same moment. Each one's DDL fails
// the others' open transactions with OC001 (and, for a while after, their
// new ones), and two of them race on every CREATE: every step is retried
// until all three finish, and the database holds one schema.
func TestMigrateThreeAtOnceOnTheDSQLDouble(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{SchemaSettle: 20 * time.Millisecond})
	stores := []*pgstore.Store{dsqlStore(t, d), dsqlStore(t, d), dsqlStore(t, d)}
	reg := prometheus.NewRegistry()
	metrics := txn.NewMetrics(reg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	start := make(chan struct{})
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.MigrateWith(ctx, &txn.Runner{Policy: pgstore.MigrationPolicy, Metrics: metrics}, nil)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("hub %d: %v", i, err)
		}
	}
	oneSchema(t, stores[0])
	t.Logf("conflicts retried: %v", conflicts(t, reg, ""))
}

// A job that failed, or completed with an error in details (as a cluster
// was recorded doing), fails the migration with what the job said.
func TestMigrateReportsTheIndexJobOnTheDSQLDouble(t *testing.T) {
	for _, tc := range []struct{ status, details, want string }{
		{"completed", `relation "public.auctions" does not exist`, `completed with an error: relation "public.auctions" does not exist`},
		{"failed", "out of space", "is failed: out of space"},
	} {
		t.Run(tc.status, func(t *testing.T) {
			d := dsqldouble.New(t, dsqldouble.Options{IndexOutcome: func(string) (string, string) { return tc.status, tc.details }})
			err := dsqlStore(t, d).Migrate(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "auctions_created_at") {
				t.Fatalf("Migrate = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// The schema store's conformance suite on the DSQL path.
func TestSchemaStoreOnTheDSQLDouble(t *testing.T) {
	schematest.Run(t, func(t *testing.T) schematest.Harness {
		s := migratedDSQLStore(t, dsqldouble.New(t, dsqldouble.Options{}))
		return schematest.Harness{Store: s.Schemas(), Log: s, Rooms: s}
	})
}

// The auction store's conformance suite on the DSQL path: idempotency
// summaries, resends of any age and compaction included; conflicts surface
// at COMMIT, inside the pipeline that carries it.
func TestAuctionStoreOnTheDSQLDouble(t *testing.T) {
	auctiontest.Run(t, func(t *testing.T) auctiontest.Harness {
		s := migratedDSQLStore(t, dsqldouble.New(t, dsqldouble.Options{}))
		return auctiontest.Harness{Store: s.Auctions(), Log: s, Rooms: s}
	})
}

// A connection lost during COMMIT on the DSQL path: the double commits the
// bid and drops the connection before answering. The retry resolves it
// through the bid's idempotency key: one bid row, one ack with the version
// it committed as.
func TestCommitLostOnTheDSQLDouble(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	s := migratedDSQLStore(t, d)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	runner := &txn.Runner{Metrics: txn.NewMetrics(reg)}
	deps := rooms.Deps{Runner: runner, Clock: clock.Real{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := auction.NewService(s.Auctions(), deps).Create(ctx, auction.CreateRequest{ID: "cut", Title: "Cut",
		StartingPrice: "5.00", Increment: "1.00"}, "t"); err != nil {
		t.Fatal(err)
	}
	en := auction.RoomKind(s.Auctions(), deps).New("cut")
	if _, err := en.Load(ctx); err != nil {
		t.Fatal(err)
	}
	d.CutNextCommit()
	amount, _ := json.Marshal("5.00")
	out := en.Apply(ctx, &rooms.Mutation{Op: "bid", ID: "b1", User: "ann", Payload: amount})
	if out.Reject != nil || out.Version != 2 {
		t.Fatalf("after a lost COMMIT: %+v %+v, want ack version 2", out, out.Reject)
	}
	bids, err := s.Auctions().Bids(ctx, "cut")
	if err != nil || len(bids) != 1 || bids[0].MsgID != "b1" {
		t.Fatalf("bids = %+v (%v), want exactly b1", bids, err)
	}
	if got := conflicts(t, reg, txn.CodeCommitUnknown); got != 1 {
		t.Fatalf("commit_unknown retries counted = %v, want 1", got)
	}
}

// conflicts sums hotrow_txn_conflicts_total for code ("" = every code).
func conflicts(t *testing.T, reg *prometheus.Registry, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "hotrow_txn_conflicts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && (code == "" || l.GetValue() == code) {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// A bid whose writes cross the row limit (the double's set to 4 rows; a
// bid writes 5) is refused by the statement that crosses it, inside the
// pipeline that carries the COMMIT: nothing is kept, the 54000 is not
// retried, and the bidder is told which limit it was and that a resend will
// not help.
func TestTooLargeOnTheDSQLDouble(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{MaxRows: 4})
	s := migratedDSQLStore(t, d)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	deps := rooms.Deps{Runner: &txn.Runner{Metrics: txn.NewMetrics(reg)}, Clock: clock.Real{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := auction.NewService(s.Auctions(), deps).Create(ctx, auction.CreateRequest{ID: "big", Title: "Big",
		StartingPrice: "5.00", Increment: "1.00"}, "t"); err != nil {
		t.Fatal(err)
	}
	en := auction.RoomKind(s.Auctions(), deps).New("big")
	if _, err := en.Load(ctx); err != nil {
		t.Fatal(err)
	}
	amount, _ := json.Marshal("5.00")
	out := en.Apply(ctx, &rooms.Mutation{Op: "bid", ID: "b1", User: "ann", Payload: amount})
	if out.Reject == nil || !strings.Contains(out.Reject.Message, "at most 3,000 rows written per transaction") ||
		!strings.Contains(out.Reject.Message, "will not help") {
		t.Fatalf("a bid over the row limit: %+v %+v, want the limit named", out, out.Reject)
	}
	if _, v, err := s.Auctions().Get(ctx, "big"); err != nil || v != 1 {
		t.Fatalf("version %d (%v) after a refused bid, want 1", v, err)
	}
	if bids, err := s.Auctions().Bids(ctx, "big"); err != nil || len(bids) != 0 {
		t.Fatalf("bids %+v (%v) after a refused bid", bids, err)
	}
	if n := conflicts(t, reg, ""); n != 0 {
		t.Fatalf("%v retries of a 54000", n)
	}
}
