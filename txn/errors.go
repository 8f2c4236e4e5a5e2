package txn

import (
	"errors"
	"fmt"
)

// ErrExhausted is wrapped by the error [Runner.Run] returns when every allowed
// attempt failed with a retryable error. That error also wraps the last
// attempt's error, so errors.Is/As reach both.
var ErrExhausted = errors.New("txn: retries exhausted")

// ErrTooLarge is wrapped by the error [Runner.Run] returns for SQLSTATE 54000:
// the transaction exceeded a database limit (on Aurora DSQL 3,000 rows or
// 10 MiB per transaction, 5 minutes, or a key, row or column size; the
// error's text says which, and [ExceededLimit] tells it to a program).
// Retrying cannot help, so it is not retried; the change must be split.
var ErrTooLarge = errors.New("txn: transaction too large: it exceeded a database limit and is not retried")

// CommitUnknownError wraps an error from COMMIT when the connection was lost
// (or the attempt timed out) during it: the transaction may or may not have
// committed. Stores return it; [Classify] marks it retryable because every
// hotrow mutation is idempotent (message id and status checks), so a retry of
// a transaction that did commit has no second effect.
//
// Its methods have value receivers, so both CommitUnknownError{...} and
// &CommitUnknownError{...} are errors; [Classify] recognises either.
type CommitUnknownError struct{ Err error }

func (e CommitUnknownError) Error() string {
	return fmt.Sprintf("commit outcome unknown: %v", e.Err)
}

func (e CommitUnknownError) Unwrap() error { return e.Err }

// ConflictError is the embedded store's write-write conflict, detected at
// commit like DSQL's OC000. [Classify] treats it as SQLSTATE 40001: retry.
// Like [CommitUnknownError], it may be returned as a value or a pointer.
type ConflictError struct{ Detail string }

func (e ConflictError) Error() string {
	if e.Detail == "" {
		return "change conflicts with another transaction, please retry (SQLSTATE 40001)"
	}
	return "change conflicts with another transaction, please retry: " + e.Detail + " (SQLSTATE 40001)"
}
