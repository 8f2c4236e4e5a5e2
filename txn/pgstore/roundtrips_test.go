package pgstore_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotrow/internal/clock"
	"hotrow/internal/dsqldouble"
	"hotrow/internal/pgtrace"
	"hotrow/internal/testpg"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/rooms/schema"
	"hotrow/txn"
	"hotrow/txn/dsql"
	"hotrow/txn/pgstore"
)

// countedDB is a store on one connection whose round trips are counted by
// the pgx tracer and, on the DSQL double, on the wire too.
type countedDB struct {
	store *pgstore.Store
	rt    *pgtrace.RoundTrips
	wire  func() int64 // nil on PostgreSQL
}

// countedPool finishes a pool config for counting: the tracer, one
// connection (so that statements prepared once stay prepared) and no pings
// of idle connections (a round trip the tracer cannot see).
func countedPool(t *testing.T, pc *pgxpool.Config, d pgstore.Dialect) countedDB {
	t.Helper()
	rt := &pgtrace.RoundTrips{}
	pc.ConnConfig.Tracer = rt
	pc.MaxConns = 1
	pc.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	s := pgstore.New(pool, d)
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return countedDB{store: s, rt: rt}
}

func countedPostgres(t *testing.T) countedDB {
	pc, err := pgxpool.ParseConfig(testpg.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	return countedPool(t, pc, pgstore.Postgres)
}

func countedDouble(t *testing.T) countedDB {
	d := dsqldouble.New(t, dsqldouble.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pc, err := dsql.PoolConfig(ctx, dsql.Config{Endpoint: d.Endpoint(), Addr: d.Addr(), RootCAs: d.CertPool(),
		Credentials: dsqldouble.TestCredentialsProvider()})
	if err != nil {
		t.Fatal(err)
	}
	db := countedPool(t, pc, pgstore.DSQL)
	db.wire = d.RoundTrips
	return db
}

// The round trips of each kind of message on PostgreSQL and on the DSQL
// double, counted by the pgx tracer (and on the double's wire) once the
// connection has prepared the statements: two for a bid, a schema edit, a
// resend the store answers and a bid the database's state rejects; with
// Options.OneStatementPerRoundTrip, five, as before pipelining (BEGIN,
// idempotency record, room, writes, COMMIT).
func TestRoundTripsOnPostgreSQLAndTheDSQLDouble(t *testing.T) {
	type want struct{ bid, resend, rejected, edit, editResend int64 }
	for _, db := range []struct {
		name string
		open func(*testing.T) countedDB
	}{{"postgres", countedPostgres}, {"dsql double", countedDouble}} {
		for _, mode := range []struct {
			name string
			opts pgstore.Options
			want want
		}{
			{"pipelined", pgstore.Options{}, want{2, 2, 2, 2, 2}},
			{"one statement per round trip", pgstore.Options{OneStatementPerRoundTrip: true}, want{5, 4, 4, 5, 4}},
		} {
			t.Run(db.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				c := db.open(t)
				got := countRoundTrips(t, c, c.store.WithOptions(mode.opts))
				if got != mode.want {
					t.Fatalf("round trips %+v, want %+v", got, mode.want)
				}
				t.Logf("round trips: %+v", got)
			})
		}
	}
}

// countRoundTrips runs each kind of message twice, the second time counted.
func countRoundTrips(t *testing.T, c countedDB, s *pgstore.Store) (got struct{ bid, resend, rejected, edit, editResend int64 }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deps := rooms.Deps{Runner: &txn.Runner{}, Clock: clock.Real{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	count := func(what string, fn func(ctx context.Context) rooms.Outcome, ok func(rooms.Outcome) bool) int64 {
		t.Helper()
		warmUp := strings.HasPrefix(what, "warm-up")
		var wire int64
		if c.wire != nil {
			wire = c.wire()
		}
		sctx, scope := c.rt.Scope(ctx)
		out := fn(sctx)
		if !ok(out) {
			t.Fatalf("%s: %+v (%+v)", what, out, out.Reject)
		}
		// Before a statement is prepared, pgx prepares it in a round trip
		// the tracer does not see: compare once the warm-up did that.
		if c.wire != nil && !warmUp && c.wire()-wire != scope.N() {
			t.Fatalf("%s: the tracer counted %d round trips, the double's wire %d", what, scope.N(), c.wire()-wire)
		}
		return scope.N()
	}
	acked := func(o rooms.Outcome) bool { return o.Reject == nil && o.Event != nil }
	resent := func(o rooms.Outcome) bool { return o.Reject == nil && o.Event == nil && o.Version > 0 }
	rejected := func(o rooms.Outcome) bool { return o.Reject != nil && o.Reject.Reason == auction.ReasonBidTooLow }

	if _, err := auction.NewService(s.Auctions(), deps).Create(ctx, auction.CreateRequest{ID: "rt", Title: "Round trips",
		StartingPrice: "1.00", Increment: "1.00"}, "t"); err != nil {
		t.Fatal(err)
	}
	kind := auction.RoomKind(s.Auctions(), deps)
	hub, stale := kind.New("rt"), kind.New("rt") // stale never learns of hub's bids
	for _, e := range []rooms.Engine{hub, stale} {
		if _, err := e.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	bid := func(e rooms.Engine, id, amount string) func(context.Context) rooms.Outcome {
		raw, _ := json.Marshal(amount)
		return func(ctx context.Context) rooms.Outcome {
			out := e.Apply(ctx, &rooms.Mutation{Op: "bid", ID: id, User: "ann", Payload: raw})
			if out.Event != nil {
				e.Observe(*out.Event)
			}
			return out
		}
	}
	count("warm-up bid", bid(hub, "b1", "1.00"), acked)
	got.bid = count("bid", bid(hub, "b2", "2.00"), acked)
	count("warm-up resend", bid(stale, "b1", "1.00"), resent)
	got.resend = count("resend", bid(stale, "b2", "2.00"), resent)
	count("warm-up rejected bid", bid(stale, "s1", "1.00"), rejected)
	got.rejected = count("rejected bid", bid(stale, "s2", "2.00"), rejected)

	if _, err := schema.NewService(s.Schemas(), deps).Create(ctx, schema.CreateRequest{ID: "rt", Name: "Round trips"}, "t"); err != nil {
		t.Fatal(err)
	}
	skind := schema.RoomKind(s.Schemas(), deps)
	editor, staleEditor := skind.New("rt"), skind.New("rt")
	for _, e := range []rooms.Engine{editor, staleEditor} {
		if _, err := e.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	addTable := func(e rooms.Engine, id, name string) func(context.Context) rooms.Outcome {
		raw, _ := json.Marshal(map[string]any{"kind": schema.OpCreateTable, "name": name, "x": 10, "y": 20})
		return func(ctx context.Context) rooms.Outcome {
			out := e.Apply(ctx, &rooms.Mutation{Op: "edit", ID: id, User: "ann", Payload: raw})
			if out.Event != nil {
				e.Observe(*out.Event)
			}
			return out
		}
	}
	count("warm-up edit", addTable(editor, "e1", "first"), acked)
	got.edit = count("edit", addTable(editor, "e2", "second"), acked)
	count("warm-up edit resend", addTable(staleEditor, "e1", "first"), resent)
	got.editResend = count("edit resend", addTable(staleEditor, "e2", "second"), resent)
	return got
}
