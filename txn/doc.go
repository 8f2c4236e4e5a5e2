// Package txn runs one hotrow message as one database transaction, retrying
// it when the database says it may.
//
// Aurora DSQL uses optimistic concurrency: write-write conflicts are found at
// COMMIT and reported as SQLSTATE 40001 (OC000 for data, OC001 for schema),
// never waited for. PostgreSQL at REPEATABLE READ behaves the same way and
// adds 40P01 (deadlock); a cluster short of connections answers 53300 or
// 53400 (retried with a harder back-off), and a connection that fails is
// retried, or, during COMMIT, resolved as an unknown outcome
// ([CommitError]). A [Runner] therefore calls the caller's attempt
// function in a loop: it classifies every failure ([Classify]), backs off
// with exponential backoff and full jitter between retryable ones, stops at
// the first commit, business rejection ([Rejection]) or permanent error, and
// gives up after [Policy.MaxAttempts] with an error wrapping [ErrExhausted].
//
// Retrying is only safe because every hotrow mutation is idempotent (the
// client's message id is stored with its effect), which is also why an
// ambiguous commit ([CommitUnknownError]) is retried.
//
// Every attempt, conflict and outcome is counted in [Metrics] under the
// names listed in the wire contract (hotrow_txn_*). Label values are bounded:
// kind is the room kind, op the operation, code a SQLSTATE-like conflict code.
//
// This package holds no store; the stores (embedded, PostgreSQL, DSQL) live
// beside it and report their conflicts in the terms defined here.
package txn
