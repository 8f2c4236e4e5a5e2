package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Migration is one schema change: exactly one DDL statement, run in a
// transaction of its own and never beside DML, as Aurora DSQL requires.
// Every statement is idempotent (IF NOT EXISTS). Tables use text or explicit
// keys (no SERIAL), bigint cents for money and text for JSON, since DSQL
// stores no json/jsonb columns.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations is the ordered schema of the store.
var Migrations = []Migration{
	{1, "rooms", `CREATE TABLE IF NOT EXISTS rooms (
    room text PRIMARY KEY,
    kind text NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL)`},
	{2, "events", `CREATE TABLE IF NOT EXISTS events (
    room text NOT NULL,
    version bigint NOT NULL,
    kind text NOT NULL,
    by_user text NOT NULL,
    at timestamptz NOT NULL,
    data text NOT NULL,
    state text,
    PRIMARY KEY (room, version))`},
	{3, "applied", `CREATE TABLE IF NOT EXISTS applied (
    room text NOT NULL,
    user_id text NOT NULL,
    msg_id text NOT NULL,
    version bigint NOT NULL,
    attempts integer NOT NULL,
    PRIMARY KEY (room, user_id, msg_id))`},
	{4, "auctions", `CREATE TABLE IF NOT EXISTS auctions (
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
	{5, "bids", `CREATE TABLE IF NOT EXISTS bids (
    auction_id text NOT NULL,
    version bigint NOT NULL,
    amount bigint NOT NULL,
    bidder text NOT NULL,
    at timestamptz NOT NULL,
    msg_id text NOT NULL,
    PRIMARY KEY (auction_id, version))`},
	{6, "schema_docs", `CREATE TABLE IF NOT EXISTS schema_docs (
    id text PRIMARY KEY,
    name text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL)`},
	{7, "schema_tables", `CREATE TABLE IF NOT EXISTS schema_tables (
    doc_id text NOT NULL,
    id text NOT NULL,
    pos bigint NOT NULL,
    name text NOT NULL,
    x double precision NOT NULL,
    y double precision NOT NULL,
    rev bigint NOT NULL,
    PRIMARY KEY (doc_id, id))`},
	{8, "schema_columns", `CREATE TABLE IF NOT EXISTS schema_columns (
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
	{9, "schema_relations", `CREATE TABLE IF NOT EXISTS schema_relations (
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
	{10, "schema_audit", `CREATE TABLE IF NOT EXISTS schema_audit (
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
		if _, err := s.pool.Exec(ctx, m.SQL); err != nil {
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
