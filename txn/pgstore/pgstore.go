// Package pgstore is hotrow's store on PostgreSQL and Aurora DSQL through a
// pgx v5 pool. On PostgreSQL every transaction runs at REPEATABLE READ, the
// snapshot isolation DSQL has; on DSQL transactions begin with default
// options, because DSQL rejects isolation-level statements.
package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotrow/rooms/auction"
	"hotrow/rooms/schema"
	"hotrow/txn"
)

// Dialect selects PostgreSQL or Aurora DSQL behaviour.
type Dialect int

const (
	Postgres Dialect = iota
	DSQL
)

func (d Dialect) String() string {
	if d == DSQL {
		return "dsql"
	}
	return "postgres"
}

// Store is the PostgreSQL/DSQL store.
type Store struct {
	pool    *pgxpool.Pool
	dialect Dialect
	txOpts  pgx.TxOptions
	opts    Options
}

// Options tune a Store; the zero value is the default.
type Options struct {
	// OneStatementPerRoundTrip sends BEGIN, each read, the writes and
	// COMMIT of a room's transaction in a round trip each (five for a bid)
	// instead of in two pipelines (see transact): for a database that
	// refuses pipelines, and to measure what they save.
	OneStatementPerRoundTrip bool
}

// Options are the store's settings.
func (s *Store) Options() Options { return s.opts }

// WithOptions returns a copy of the store that runs with o. The copy
// shares the pool: close one of them.
func (s *Store) WithOptions(o Options) *Store {
	c := *s
	c.opts = o
	return &c
}

// New wraps a pool.
func New(pool *pgxpool.Pool, d Dialect) *Store {
	s := &Store{pool: pool, dialect: d}
	if d == Postgres {
		s.txOpts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead}
	}
	return s
}

// Open connects to PostgreSQL at dsn (a URL or keyword/value string).
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL is not a valid PostgreSQL connection string: %w", err)
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	return New(pool, Postgres), nil
}

// Pool is the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Name says which store this is, for logs.
func (s *Store) Name() string { return s.dialect.String() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// attempt runs fn in one pgx transaction, for the store's work other than
// a room's messages (summaries, compaction, imports; a message goes through
// transact, in two round trips). A COMMIT that fails without an answer from the
// server (the connection dropped, or the server said it is going away) has
// an unknown outcome and is returned as txn.CommitUnknownError
// (txn.CommitError).
func (s *Store) attempt(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, s.txOpts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", txn.CommitError(err))
	}
	return nil
}

// read runs fn in a read-only snapshot.
func (s *Store) read(ctx context.Context, fn func(pgx.Tx) error) error {
	opts := s.txOpts
	opts.AccessMode = pgx.ReadOnly
	if s.dialect == DSQL {
		opts = pgx.TxOptions{}
	}
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	return fn(tx)
}

// The room kinds the PostgreSQL/DSQL store holds.
var (
	_ auction.Provider = (*Store)(nil)
	_ schema.Provider  = (*Store)(nil)
)
