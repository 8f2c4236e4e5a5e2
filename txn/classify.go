package txn

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Class is what to do about an attempt's error.
type Class int

const (
	// Retry: the transaction had no effect (or an idempotent one); run it again.
	Retry Class = iota + 1
	// Reject: a business outcome; the mutation had no effect; never retried.
	Reject
	// Fail: a permanent error; retrying cannot help.
	Fail
)

func (c Class) String() string {
	switch c {
	case Retry:
		return "retry"
	case Reject:
		return "reject"
	case Fail:
		return "fail"
	}
	return "unknown"
}

// Conflict codes: the values of the code label of hotrow_txn_conflicts_total.
const (
	CodeSerialization = "40001"          // serialization failure (PostgreSQL, embedded store)
	CodeDSQLData      = "OC000"          // DSQL optimistic concurrency conflict on data
	CodeDSQLSchema    = "OC001"          // DSQL conflict with a concurrent schema change
	CodeDeadlock      = "40P01"          // PostgreSQL deadlock
	CodeRateExceeded  = "53400"          // DSQL configuration limit / rate exceeded (new connections)
	CodeTooManyConns  = "53300"          // too many connections (DSQL: 10,000 per cluster)
	CodeConnLost      = "conn_lost"      // connection lost before COMMIT was sent
	CodeCommitUnknown = "commit_unknown" // connection lost during COMMIT
	CodeTimeout       = "timeout"        // the per-attempt deadline passed
)

// Verdict is the classification of one attempt's error.
type Verdict struct {
	Class Class
	// Code labels hotrow_txn_conflicts_total{code} for retryable errors
	// (see the Code* constants); "" otherwise.
	Code string
	// Slow asks for a harder back-off (53400 rate exceeded, 53300 too many
	// connections).
	Slow bool
}

// Classify decides whether err (an attempt's error, possibly wrapped) is worth
// retrying. nil is not an error; Classify(nil) reports Fail with no code and
// callers should not ask.
//
// In order: a [Rejection] is Reject; a [CommitUnknownError] is Retry
// "commit_unknown"; a [ConflictError] is Retry "40001"; a *pgconn.PgError is
// Retry for 40001 ("OC000"/"OC001" when DSQL names them in the message),
// a raw OC000 or OC001 code (as the AWS connectors accept it), 40P01, 53400
// and 53300 (both Slow), and the connection's failures 08xxx and 57P0x
// ("conn_lost": before COMMIT nothing was committed; a store reports a
// failure during COMMIT as a CommitUnknownError, see [CommitError]), and Fail
// for everything else, including 54000 (see [ErrTooLarge] and
// [ExceededLimit]) and 23xxx; context.DeadlineExceeded is Retry "timeout"
// (a deadline of the whole message is handled by [Runner.Run] itself);
// a connection lost before commit is Retry "conn_lost"; anything else,
// including context.Canceled, is Fail.
func Classify(err error) Verdict {
	if err == nil {
		return Verdict{Class: Fail}
	}
	var rej Rejection
	if errors.As(err, &rej) {
		return Verdict{Class: Reject}
	}
	if isCommitUnknown(err) {
		return Verdict{Class: Retry, Code: CodeCommitUnknown}
	}
	if isConflict(err) {
		return Verdict{Class: Retry, Code: CodeSerialization}
	}
	if errors.Is(err, ErrTooLarge) {
		return Verdict{Class: Fail}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return classifyPg(pgErr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Verdict{Class: Retry, Code: CodeTimeout}
	}
	if errors.Is(err, context.Canceled) {
		return Verdict{Class: Fail}
	}
	if connLost(err) {
		return Verdict{Class: Retry, Code: CodeConnLost}
	}
	return Verdict{Class: Fail}
}

func classifyPg(e *pgconn.PgError) Verdict {
	switch {
	case e.Code == CodeDSQLData || e.Code == CodeDSQLSchema:
		return Verdict{Class: Retry, Code: e.Code}
	case connectionFailure(e.Code):
		return Verdict{Class: Retry, Code: CodeConnLost}
	}
	switch e.Code {
	case "40001":
		switch {
		case strings.Contains(e.Message, CodeDSQLData):
			return Verdict{Class: Retry, Code: CodeDSQLData}
		case strings.Contains(e.Message, CodeDSQLSchema):
			return Verdict{Class: Retry, Code: CodeDSQLSchema}
		}
		return Verdict{Class: Retry, Code: CodeSerialization}
	case "40P01":
		return Verdict{Class: Retry, Code: CodeDeadlock}
	case "53400":
		return Verdict{Class: Retry, Code: CodeRateExceeded, Slow: true}
	case "53300":
		return Verdict{Class: Retry, Code: CodeTooManyConns, Slow: true}
	}
	// 54000 (program_limit_exceeded), 23xxx (integrity) and the rest.
	return Verdict{Class: Fail}
}

// connectionFailure reports whether a SQLSTATE says the connection failed
// or the server is going away: class 08 (connection exception) and 57P01
// admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (57P04,
// database dropped, is not worth retrying).
func connectionFailure(code string) bool {
	return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
}

// CommitError is what a store returns for err, the error of COMMIT: when
// the server answered with a definite error (a conflict, a constraint, a
// limit), err itself; when the connection failed instead (an error without
// a server answer, or one saying the connection failed or the server is
// shutting down, 08xxx and 57P0x), a [CommitUnknownError]: the transaction
// may have committed. nil stays nil.
func CommitError(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && !connectionFailure(pgErr.Code) {
		return err
	}
	return CommitUnknownError{Err: err}
}

func isCommitUnknown(err error) bool {
	var v CommitUnknownError
	var p *CommitUnknownError
	return errors.As(err, &v) || (errors.As(err, &p) && p != nil)
}

func isConflict(err error) bool {
	var v ConflictError
	var p *ConflictError
	return errors.As(err, &v) || (errors.As(err, &p) && p != nil)
}

// connLost reports whether err means the connection failed before the
// transaction could have committed: pgx guarantees nothing was sent
// (SafeToRetry), the connection could not be made, or the socket broke.
// A break during COMMIT itself must be reported by the store as a
// [CommitUnknownError]; both are retried.
func connLost(err error) bool {
	if pgconn.SafeToRetry(err) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
