package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hotrow/txn"
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
	// A room's idempotency records by version: a hub loading a room reads
	// only those after its stored summary, and moves them into the summary
	// a step at a time.
	{Version: 12, Name: "applied_room_version", Index: &Index{Name: "applied_room_version", Table: "applied", Columns: []string{"room", "version"}}},
	// The summary of a room's older idempotency records: one Bloom filter
	// per segment of versions, holding the ids of (from_version, covered].
	{Version: 13, Name: "applied_summary", DDL: `CREATE TABLE IF NOT EXISTS applied_summary (
    room text NOT NULL,
    seg integer NOT NULL,
    from_version bigint NOT NULL,
    end_version bigint NOT NULL,
    covered bigint NOT NULL,
    filter bytea NOT NULL,
    PRIMARY KEY (room, seg))`},
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS hotrow_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL)`

// MigrationPolicy bounds the retries of each migration step. Several hubs
// (or hotrow migrate processes) may migrate one database at once, and on
// DSQL each one's DDL fails the others' open transactions with 40001
// (OC001) for a while: patient retries with a long back-off let all of
// them finish. An index build may take minutes, hence the attempt timeout.
var MigrationPolicy = txn.Policy{MaxAttempts: 60, BaseDelay: 10 * time.Millisecond, MaxDelay: 500 * time.Millisecond,
	AttemptTimeout: 10 * time.Minute}

// Migrate applies the migrations not yet recorded, each step (the DDL, the
// wait for an index, the record) in its own transaction and through a
// txn.Runner with MigrationPolicy. It is safe to run again and from several
// hubs at once.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	return s.MigrateWith(ctx, &txn.Runner{Policy: MigrationPolicy, Log: log}, log)
}

// MigrateWith is Migrate with the given runner.
func (s *Store) MigrateWith(ctx context.Context, r *txn.Runner, log *slog.Logger) error {
	step := func(op string, fn func(ctx context.Context) error) error {
		_, err := r.Run(ctx, "migration", op, fn)
		return err
	}
	if err := step("create_table", func(ctx context.Context) error { return s.ddl(ctx, migrationsTable) }); err != nil {
		return fmt.Errorf("creating hotrow_migrations: %w", err)
	}
	done := map[int]bool{}
	err := step("read", func(ctx context.Context) error {
		clear(done)
		rows, err := s.pool.Query(ctx, `SELECT version FROM hotrow_migrations`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return err
			}
			done[v] = true
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("reading hotrow_migrations: %w", err)
	}
	for _, m := range Migrations {
		if done[m.Version] {
			continue
		}
		start := time.Now()
		if err := s.apply(ctx, step, m); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		err := step("record", func(ctx context.Context) error {
			_, err := s.pool.Exec(ctx,
				`INSERT INTO hotrow_migrations (version, name, applied_at) VALUES ($1, $2, now()) ON CONFLICT (version) DO NOTHING`,
				m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("recording migration %d (%s): %w", m.Version, m.Name, err)
		}
		if log != nil {
			log.Info("migration applied", "version", m.Version, "name", m.Name, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	return nil
}

// ddl runs one DDL statement in a transaction of its own (an implicit one).
// On PostgreSQL two sessions creating one object at once collide on the
// catalog (23505 on a pg_* index, or 42P07/42710) although the statement
// says IF NOT EXISTS; that is a conflict worth retrying, as DSQL's OC001
// is.
func (s *Store) ddl(ctx context.Context, stmt string) error {
	_, err := s.pool.Exec(ctx, stmt)
	return ddlConflict(err)
}

func ddlConflict(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" && strings.HasPrefix(pgErr.ConstraintName, "pg_") ||
		pgErr.Code == "42P07" || pgErr.Code == "42710") {
		return fmt.Errorf("%w: %w", &txn.ConflictError{Detail: "a concurrent schema change"}, err)
	}
	return err
}

// jobIDPattern is the form of a DSQL job id as a real cluster answers it:
// 26 lowercase base32 characters (the dsql-emulator project's recordings of
// a cluster, test/conformance/golden/index.json, 2026-09; a malformed id
// was answered 22P02 "Unable to convert text to UUID").
var jobIDPattern = regexp.MustCompile(`^[a-z2-7]{26}$`)

// waitForJobSQL is the statement that waits for job. A real cluster has
// sys.wait_for_job as a procedure: SELECT sys.wait_for_job($1) is refused
// with 42809 although the user guide says it returns a Boolean, a
// subquery as its argument is refused (0A000), and whether a bind
// parameter is accepted there was not recorded; so the id, checked against
// the recorded form, is inlined as a literal.
func waitForJobSQL(job string) (string, error) {
	if !jobIDPattern.MatchString(job) {
		return "", fmt.Errorf("the cluster answered job id %q, not of the form of a DSQL job id", job)
	}
	return "CALL sys.wait_for_job('" + job + "')", nil
}

// apply runs one migration. On DSQL, CREATE INDEX ASYNC answers with a job
// id at once; the migration then waits for the build and reads the job's
// status and details from sys.jobs: a job can fail, and one recorded as
// completed can carry an error in details, so anything but completed
// without details is an error.
func (s *Store) apply(ctx context.Context, step func(string, func(context.Context) error) error, m Migration) error {
	stmt := m.SQL(s.dialect)
	if m.Index == nil || s.dialect != DSQL {
		return step("ddl", func(ctx context.Context) error { return s.ddl(ctx, stmt) })
	}
	var job string
	err := step("create_index", func(ctx context.Context) error {
		job = ""
		err := s.pool.QueryRow(ctx, stmt).Scan(&job)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // IF NOT EXISTS found the index: no job
		}
		return ddlConflict(err)
	})
	if err != nil {
		return err
	}
	if job == "" {
		return s.checkIndex(ctx, step, m.Index.Name, "")
	}
	wait, err := waitForJobSQL(job)
	if err != nil {
		return err
	}
	waitErr := step("wait_for_job", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, wait)
		return err
	})
	var (
		status  string
		details *string
		found   bool
	)
	err = step("job_status", func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT status, details FROM sys.jobs WHERE job_id = $1`, job).Scan(&status, &details)
		found = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("reading index job %s from sys.jobs: %w", job, errors.Join(err, waitErr))
	}
	switch {
	case !found:
		return s.checkIndex(ctx, step, m.Index.Name, job)
	case status != "completed":
		return fmt.Errorf("index %s: job %s is %s: %s%s", m.Index.Name, job, status, deref(details), also(waitErr))
	case deref(details) != "":
		return fmt.Errorf("index %s: job %s completed with an error: %s%s", m.Index.Name, job, *details, also(waitErr))
	}
	return nil
}

// checkIndex is for a job sys.jobs does not know: the index must exist.
func (s *Store) checkIndex(ctx context.Context, step func(string, func(context.Context) error) error, name, job string) error {
	var exists bool
	err := step("index_exists", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = $1)`, name).Scan(&exists)
	})
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("index %s does not exist after CREATE INDEX ASYNC (job %q, not in sys.jobs)", name, job)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func also(err error) string {
	if err == nil {
		return ""
	}
	return " (waiting for it: " + err.Error() + ")"
}
