package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Migration is one schema change: exactly one DDL statement, run in a
// transaction of its own and never beside DML, as Aurora DSQL requires.
// Every statement is idempotent (IF NOT EXISTS). Tables use text or explicit
// keys (no SERIAL), bigint cents for money and text for JSON, since DSQL
// stores no json/jsonb columns.
type Migration struct {
	Version int
	Name    string
	DDL     string // a statement valid on both PostgreSQL and DSQL, or
	Index   *Index // an index, whose statement differs
}

// Index is a secondary index. On DSQL it is built with CREATE INDEX ASYNC
// and the migration waits for the build job; on PostgreSQL it is a plain
// CREATE INDEX.
type Index struct {
	Name, Table string
	Columns     []string
	Unique      bool
}

// SQL is the migration's statement in dialect d.
func (m Migration) SQL(d Dialect) string {
	if m.Index == nil {
		return m.DDL
	}
	var b strings.Builder
	b.WriteString("CREATE ")
	if m.Index.Unique {
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX ")
	if d == DSQL {
		b.WriteString("ASYNC ")
	}
	fmt.Fprintf(&b, "IF NOT EXISTS %s ON %s (%s)", m.Index.Name, m.Index.Table, strings.Join(m.Index.Columns, ", "))
	return b.String()
}

// Migrations is the ordered schema of the store.
var Migrations = []Migration{
	{Version: 1, Name: "rooms", DDL: `CREATE TABLE IF NOT EXISTS rooms (
    room text PRIMARY KEY,
    kind text NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL)`},
	{Version: 2, Name: "events", DDL: `CREATE TABLE IF NOT EXISTS events (
    room text NOT NULL,
    version bigint NOT NULL,
    kind text NOT NULL,
    by_user text NOT NULL,
    at timestamptz NOT NULL,
    data text NOT NULL,
    state text,
    PRIMARY KEY (room, version))`},
	{Version: 3, Name: "applied", DDL: `CREATE TABLE IF NOT EXISTS applied (
    room text NOT NULL,
    user_id text NOT NULL,
    msg_id text NOT NULL,
    version bigint NOT NULL,
    attempts integer NOT NULL,
    PRIMARY KEY (room, user_id, msg_id))`},
	{Version: 4, Name: "auctions", DDL: `CREATE TABLE IF NOT EXISTS auctions (
    id text PRIMARY KEY,
    title text NOT NULL,
    starting_price bigint NOT NULL,
    increment bigint NOT NULL,
    current_bid bigint NOT NULL,
    leader text NOT NULL,
    bids integer NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    anti_snipe_window_s integer NOT NULL,
    anti_snipe_extend_s integer NOT NULL,
    closed boolean NOT NULL,
    winner text NOT NULL,
    final_price bigint NOT NULL,
    created_at timestamptz NOT NULL)`},
	{Version: 5, Name: "bids", DDL: `CREATE TABLE IF NOT EXISTS bids (
    auction_id text NOT NULL,
    version bigint NOT NULL,
    amount bigint NOT NULL,
    bidder text NOT NULL,
    at timestamptz NOT NULL,
    msg_id text NOT NULL,
    PRIMARY KEY (auction_id, version))`},
	{Version: 6, Name: "schema_docs", DDL: `CREATE TABLE IF NOT EXISTS schema_docs (
    id text PRIMARY KEY,
    name text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL)`},
	{Version: 7, Name: "schema_tables", DDL: `CREATE TABLE IF NOT EXISTS schema_tables (
    doc_id text NOT NULL,
    id text NOT NULL,
    pos bigint NOT NULL,
    name text NOT NULL,
    x double precision NOT NULL,
    y double precision NOT NULL,
    rev bigint NOT NULL,
    PRIMARY KEY (doc_id, id))`},
	{Version: 8, Name: "schema_columns", DDL: `CREATE TABLE IF NOT EXISTS schema_columns (
    doc_id text NOT NULL,
    id text NOT NULL,
    table_id text NOT NULL,
    pos bigint NOT NULL,
    name text NOT NULL,
    type text NOT NULL,
    nullable boolean NOT NULL,
    default_value text,
    primary_key boolean NOT NULL,
    is_unique boolean NOT NULL,
    rev bigint NOT NULL,
    PRIMARY KEY (doc_id, id))`},
	{Version: 9, Name: "schema_relations", DDL: `CREATE TABLE IF NOT EXISTS schema_relations (
    doc_id text NOT NULL,
    id text NOT NULL,
    pos bigint NOT NULL,
    from_table text NOT NULL,
    from_column text NOT NULL,
    to_table text NOT NULL,
    to_column text NOT NULL,
    on_delete text NOT NULL,
    rev bigint NOT NULL,
    PRIMARY KEY (doc_id, id))`},
	{Version: 10, Name: "schema_audit", DDL: `CREATE TABLE IF NOT EXISTS schema_audit (
    doc_id text NOT NULL,
    version bigint NOT NULL,
    by_user text NOT NULL,
    at timestamptz NOT NULL,
    msg_id text NOT NULL,
    kind text NOT NULL,
    op text NOT NULL,
    before text NOT NULL,
    after text NOT NULL,
    PRIMARY KEY (doc_id, version))`},
	{Version: 11, Name: "auctions_created_at", Index: &Index{Name: "auctions_created_at", Table: "auctions", Columns: []string{"created_at"}}},
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS hotrow_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL)`

// Migrate applies the migrations not yet recorded, each DDL statement in its
// own transaction followed by its record in another. It is safe to run
// again and from several hubs at once.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	if _, err := s.pool.Exec(ctx, migrationsTable); err != nil {
		return fmt.Errorf("creating hotrow_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, err := s.pool.Query(ctx, `SELECT version FROM hotrow_migrations`)
	if err != nil {
		return fmt.Errorf("reading hotrow_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		done[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading hotrow_migrations: %w", err)
	}
	for _, m := range Migrations {
		if done[m.Version] {
			continue
		}
		start := time.Now()
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		if _, err := s.pool.Exec(ctx,
			`INSERT INTO hotrow_migrations (version, name, applied_at) VALUES ($1, $2, now()) ON CONFLICT (version) DO NOTHING`,
			m.Version, m.Name); err != nil {
			return fmt.Errorf("recording migration %d (%s): %w", m.Version, m.Name, err)
		}
		if log != nil {
			log.Info("migration applied", "version", m.Version, "name", m.Name, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	return nil
}

// apply runs one migration's statement on its own. On DSQL, CREATE INDEX
// ASYNC answers with a job id at once; the migration then waits for the
// build with sys.wait_for_job, so the next migration (and the hub) find the
// index in place.
func (s *Store) apply(ctx context.Context, m Migration) error {
	stmt := m.SQL(s.dialect)
	if m.Index == nil || s.dialect != DSQL {
		_, err := s.pool.Exec(ctx, stmt)
		return err
	}
	var job string
	err := s.pool.QueryRow(ctx, stmt).Scan(&job)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // IF NOT EXISTS found the index: no job
	}
	if err != nil {
		return err
	}
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT sys.wait_for_job($1)`, job).Scan(&ok); err != nil {
		return fmt.Errorf("waiting for index job %s: %w", job, err)
	}
	if !ok {
		return fmt.Errorf("index job %s failed: see sys.jobs", job)
	}
	return nil
}
