package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hotrow/rooms"
	"hotrow/txn"
)

// A room's transaction in two round trips.
//
// A bid or a schema edit reads, applies its rule in Go, then writes. On
// Aurora DSQL every round trip to the cluster costs the network's latency,
// and a hot room commits one message at a time, so the round trips of one
// transaction bound the room's commit rate. transact sends a transaction in
// two:
//
//  1. BEGIN and every read the rule needs: the message's idempotency
//     record, the room's state and version, the database's clock;
//  2. every write, then COMMIT.
//
// Each is one pgx batch: an extended-protocol pipeline (Parse, Bind,
// Execute for each statement, the statements pgx has not prepared on the
// connection yet in a pipeline of their own first) ending in one Sync,
// which the server answers statement by statement, skipping the rest after
// an error. A write that fails therefore takes its COMMIT with it; a
// conflict that DSQL reports at COMMIT fails the COMMIT itself. Either
// way the server has answered, and the outcome is known. Only a connection
// that breaks after the second batch was sent leaves it unknown, which
// txn.CommitUnknownError reports and the idempotency key resolves, as for a
// COMMIT of its own.
//
// Checks a write needs (the room's version moves from the version the
// transaction read, and nowhere else) are in its SQL, so that the server,
// not the client reading the answers after the COMMIT, refuses them.
//
// Whether a real DSQL cluster answers pipelines is not recorded either way
// (the recordings show a multi-statement simple query, BEGIN; INSERT ...;
// COMMIT, answered statement by statement); the DSQL test double answers
// them, and its tests show conflicts, the row limit and a lost COMMIT
// answered inside them as a cluster answers them outside. Should a cluster
// refuse them, Options.OneStatementPerRoundTrip sends BEGIN, each read, the
// writes and COMMIT in a round trip each, as pgx.Tx would: five for a bid.

// writes are the statements of a transaction's second round trip, before
// its COMMIT.
type writes struct {
	b     pgx.Batch
	stmts []writeStmt
}

type writeStmt struct {
	// check, when set, looks at the statement's answer. With pipelining it
	// runs after the COMMIT: it reports a write that went wrong although
	// the statement reads rows of the transaction's own snapshot (see
	// transact).
	check func(pgconn.CommandTag) error
	// refused, when set, turns the server's refusal of the statement into
	// the error the caller needs (a taken id into rooms.ErrExists).
	refused func(*pgconn.PgError) error
}

// queue adds a statement.
func (w *writes) queue(st writeStmt, sql string, args ...any) {
	w.b.Queue(sql, args...)
	w.stmts = append(w.stmts, st)
}

func (w *writes) empty() bool { return len(w.stmts) == 0 }

// beginSQL is the BEGIN of a transaction: REPEATABLE READ on PostgreSQL,
// the snapshot isolation DSQL has; the default on DSQL, which refuses
// isolation levels.
func (s *Store) beginSQL() string {
	if s.dialect == Postgres {
		return "BEGIN ISOLATION LEVEL REPEATABLE READ"
	}
	return "BEGIN"
}

// transact runs one attempt of a transaction: BEGIN with reads (each a
// batch of queries whose callbacks keep what they read), then fn, which
// queues the writes, then the writes with COMMIT. fn failing, or queuing
// nothing, rolls the transaction back. A COMMIT whose outcome is unknown is
// reported as txn.CommitUnknownError.
func (s *Store) transact(ctx context.Context, reads []*pgx.Batch, fn func(w *writes) error) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer pc.Release() // the pool drops a connection left in a transaction
	conn := pc.Conn()
	if err := s.begin(ctx, conn, reads); err != nil {
		rollback(ctx, conn)
		return err
	}
	w := &writes{}
	if err := fn(w); err != nil {
		rollback(ctx, conn)
		return err
	}
	if w.empty() {
		rollback(ctx, conn) // nothing to commit: a resend, or a read
		return nil
	}
	if s.opts.OneStatementPerRoundTrip {
		return commitAlone(ctx, conn, w)
	}
	return commitWith(ctx, conn, w)
}

// begin sends BEGIN and the reads.
func (s *Store) begin(ctx context.Context, conn *pgx.Conn, reads []*pgx.Batch) error {
	if s.opts.OneStatementPerRoundTrip {
		if _, err := conn.Exec(ctx, s.beginSQL()); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		for _, r := range reads {
			if err := conn.SendBatch(ctx, r).Close(); err != nil {
				return err
			}
		}
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(s.beginSQL())
	for _, r := range reads {
		b.QueuedQueries = append(b.QueuedQueries, r.QueuedQueries...)
	}
	return conn.SendBatch(ctx, b).Close()
}

// commitWith sends the writes and COMMIT in one round trip.
func commitWith(ctx context.Context, conn *pgx.Conn, w *writes) error {
	w.b.Queue("COMMIT")
	br := conn.SendBatch(ctx, &w.b)
	tags := make([]pgconn.CommandTag, 0, len(w.stmts)+1)
	var err error
	for range len(w.stmts) + 1 {
		var ct pgconn.CommandTag
		if ct, err = br.Exec(); err != nil {
			break
		}
		tags = append(tags, ct)
	}
	// Closing reads what is left up to the Sync's ReadyForQuery: after an
	// error, the skipped statements; after the COMMIT's answer, nothing
	// that could change it (a connection that breaks there is dropped by
	// the pool).
	_ = br.Close()
	if err != nil {
		return failedCommit(ctx, conn, w, len(tags), err)
	}
	if err := committed(tags[len(w.stmts)]); err != nil {
		return err
	}
	for i, st := range w.stmts {
		if st.check != nil {
			if err := st.check(tags[i]); err != nil {
				// Not seen in practice: each checked statement writes rows
				// the transaction read in its own snapshot.
				return fmt.Errorf("the transaction committed, but %w", err)
			}
		}
	}
	return nil
}

// failedCommit is the error of a second round trip that failed at
// statement i (len(w.stmts) is the COMMIT). The server's answer to a
// statement is definite: the statements after it, the COMMIT among them,
// did not run, or the COMMIT itself was refused. Without an answer, on a
// connection that broke, the COMMIT may have run.
func failedCommit(ctx context.Context, conn *pgx.Conn, w *writes, i int, err error) error {
	var pgErr *pgconn.PgError
	answered := errors.As(err, &pgErr)
	if conn.IsClosed() || !answered && conn.PgConn().TxStatus() == 'I' {
		return fmt.Errorf("commit: %w", txn.CommitError(err))
	}
	rollback(ctx, conn)
	if !answered {
		return err // refused before it was sent: nothing ran
	}
	if i == len(w.stmts) {
		return fmt.Errorf("commit: %w", txn.CommitError(err))
	}
	if r := w.stmts[i].refused; r != nil {
		if rerr := r(pgErr); rerr != nil {
			return rerr
		}
	}
	return err
}

// commitAlone sends the writes, then COMMIT, each in a round trip of its
// own (Options.OneStatementPerRoundTrip).
func commitAlone(ctx context.Context, conn *pgx.Conn, w *writes) error {
	br := conn.SendBatch(ctx, &w.b)
	for i, st := range w.stmts {
		ct, err := br.Exec()
		if err == nil && st.check != nil {
			err = st.check(ct)
		}
		if err != nil {
			_ = br.Close()
			rollback(ctx, conn)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && w.stmts[i].refused != nil {
				if rerr := w.stmts[i].refused(pgErr); rerr != nil {
					return rerr
				}
			}
			return err
		}
	}
	if err := br.Close(); err != nil {
		rollback(ctx, conn)
		return err
	}
	ct, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		return fmt.Errorf("commit: %w", txn.CommitError(err))
	}
	return committed(ct)
}

// committed checks COMMIT's answer: PostgreSQL answers ROLLBACK to the
// COMMIT of a transaction that had failed.
func committed(ct pgconn.CommandTag) error {
	if ct.String() != "COMMIT" {
		return fmt.Errorf("commit: %w", pgx.ErrTxCommitRollback)
	}
	return nil
}

// rollback ends the connection's transaction, if one is open. A
// connection where that fails is left in its transaction, and the pool
// drops it on Release.
func rollback(ctx context.Context, conn *pgx.Conn) {
	if conn.IsClosed() || conn.PgConn().TxStatus() == 'I' {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_, _ = conn.Exec(rctx, "ROLLBACK")
}

// appliedRead queues the read of key's idempotency record into b; found
// points at the record when there is one. Nothing is read for a key
// without an ID.
func appliedRead(key rooms.Key, found **rooms.Applied) *pgx.Batch {
	b := &pgx.Batch{}
	if key.ID == "" {
		return b
	}
	b.Queue(`SELECT version, attempts FROM applied WHERE room = $1 AND user_id = $2 AND msg_id = $3`,
		key.Room, key.User, key.ID).QueryRow(func(row pgx.Row) error {
		var a rooms.Applied
		err := row.Scan(&a.Version, &a.Attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading idempotency record: %w", err)
		}
		*found = &a
		return nil
	})
	return b
}
