// Package pgtrace counts the round trips pgx makes to the database, as a
// pgx tracer (pgx.QueryTracer, pgx.BatchTracer, pgx.PrepareTracer): set a
// RoundTrips as a pool's ConnConfig.Tracer, and open a Scope on the
// context of the work to measure (a bid, a schema edit).
//
// What it counts, each one round trip: a query (Exec, Query, QueryRow;
// BEGIN and COMMIT are queries), a batch sent with SendBatch, and a
// statement prepared because the connection's statement cache did not have
// it. What it cannot see: the prepare step pgx puts in front of a batch
// whose statements are not cached yet (one more round trip), and the pool's
// own pings of idle connections. Measure once statements are cached, with
// pings off (pgxpool.Config.ShouldPing); the DSQL test double
// (internal/dsqldouble) counts every round trip on the wire to check.
package pgtrace

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// RoundTrips is the tracer. Its zero value is ready; it is safe for
// concurrent use.
type RoundTrips struct {
	total atomic.Int64
}

// Scope counts the round trips of one piece of work.
type Scope struct {
	n atomic.Int64
}

// N is the round trips counted in the scope so far.
func (s *Scope) N() int64 { return s.n.Load() }

type scopeKey struct{}

// Scope returns a context whose queries are counted in the returned Scope
// (as well as in the total).
func (r *RoundTrips) Scope(ctx context.Context) (context.Context, *Scope) {
	s := &Scope{}
	return context.WithValue(ctx, scopeKey{}, s), s
}

// Total is every round trip counted.
func (r *RoundTrips) Total() int64 { return r.total.Load() }

func (r *RoundTrips) add(ctx context.Context) {
	r.total.Add(1)
	if s, ok := ctx.Value(scopeKey{}).(*Scope); ok {
		s.n.Add(1)
	}
}

// TraceQueryStart counts a query.
func (r *RoundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.add(ctx)
	return ctx
}

// TraceQueryEnd does nothing.
func (r *RoundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart counts a batch: its queries travel together.
func (r *RoundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.add(ctx)
	return ctx
}

// TraceBatchQuery does nothing.
func (r *RoundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd does nothing.
func (r *RoundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TracePrepareStart does nothing: whether a prepare goes to the server is
// known at its end.
func (r *RoundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	return ctx
}

// TracePrepareEnd counts a statement prepared on the server.
func (r *RoundTrips) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareEndData) {
	if !d.AlreadyPrepared {
		r.add(ctx)
	}
}

var (
	_ pgx.QueryTracer   = (*RoundTrips)(nil)
	_ pgx.BatchTracer   = (*RoundTrips)(nil)
	_ pgx.PrepareTracer = (*RoundTrips)(nil)
)
