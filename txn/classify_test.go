package txn

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// DSQL's and PostgreSQL's own errors, as pgx reports them.
var (
	errOC000 = &pgconn.PgError{Severity: "ERROR", Code: "40001",
		Message: "change conflicts with another transaction, please retry: (OC000)"}
	errOC001 = &pgconn.PgError{Severity: "ERROR", Code: "40001",
		Message: "schema has been updated by another transaction, please retry: (OC001)"}
	errSerialization = &pgconn.PgError{Severity: "ERROR", Code: "40001",
		Message: "could not serialize access due to concurrent update"}
	errDeadlock = &pgconn.PgError{Severity: "ERROR", Code: "40P01",
		Message: "deadlock detected"}
	errRate = &pgconn.PgError{Severity: "ERROR", Code: "53400",
		Message: "rate exceeded, please retry"}
	errTooMany = &pgconn.PgError{Severity: "FATAL", Code: "53300",
		Message: "Unable to accept connection, too many open connections."}
	errLimits = &pgconn.PgError{Severity: "ERROR", Code: "54000",
		Message: "transaction row limit exceeded"}
	errUnique = &pgconn.PgError{Severity: "ERROR", Code: "23505",
		Message: `duplicate key value violates unique constraint "bids_pkey"`, ConstraintName: "bids_pkey"}
	errFK = &pgconn.PgError{Severity: "ERROR", Code: "23503",
		Message: "insert or update violates foreign key constraint"}
	errUndefinedTable = &pgconn.PgError{Severity: "ERROR", Code: "42P01",
		Message: `relation "auctions" does not exist`}
	errReset = &net.OpError{Op: "read", Net: "tcp",
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5432},
		Err:  &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}
)

// safeToRetry mimics pgx's internal errors that occur before anything is sent.
type safeToRetry struct{}

func (safeToRetry) Error() string     { return "conn busy" }
func (safeToRetry) SafeToRetry() bool { return true }

// realConnectError makes pgx fail to connect to a closed loopback port.
func realConnectError(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, "host=127.0.0.1 user=x dbname=x sslmode=disable port="+strconv.Itoa(addr.Port))
	if err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a closed port")
	}
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("pgconn.Connect error %T %v is not a *pgconn.ConnectError", err, err)
	}
	return err
}

func TestClassify(t *testing.T) {
	retry := func(code string) Verdict { return Verdict{Class: Retry, Code: code} }
	fail := Verdict{Class: Fail}
	cases := []struct {
		name string
		err  error
		want Verdict
	}{
		{"DSQL OC000", errOC000, retry("OC000")},
		{"DSQL OC001", errOC001, retry("OC001")},
		{"PostgreSQL 40001", errSerialization, retry("40001")},
		{"deadlock 40P01", errDeadlock, retry("40P01")},
		{"rate exceeded 53400", errRate, Verdict{Class: Retry, Code: "53400", Slow: true}},
		{"too many connections 53300", errTooMany, Verdict{Class: Retry, Code: "53300", Slow: true}},
		{"raw OC000 code", &pgconn.PgError{Code: "OC000", Message: "change conflicts with another transaction"}, retry("OC000")},
		{"raw OC001 code", &pgconn.PgError{Code: "OC001", Message: "schema has been updated by another transaction"}, retry("OC001")},
		{"connection failure 08006", &pgconn.PgError{Severity: "FATAL", Code: "08006", Message: "connection failure"}, retry("conn_lost")},
		{"connection does not exist 08003", &pgconn.PgError{Severity: "FATAL", Code: "08003", Message: "connection does not exist"}, retry("conn_lost")},
		{"admin shutdown 57P01", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}, retry("conn_lost")},
		{"crash shutdown 57P02", &pgconn.PgError{Severity: "FATAL", Code: "57P02"}, retry("conn_lost")},
		{"cannot connect now 57P03", &pgconn.PgError{Severity: "FATAL", Code: "57P03"}, retry("conn_lost")},
		{"database dropped 57P04", &pgconn.PgError{Severity: "FATAL", Code: "57P04"}, fail},
		{"commit error: connection failure", CommitError(&pgconn.PgError{Severity: "FATAL", Code: "08006"}), retry("commit_unknown")},
		{"commit error: socket", CommitError(errReset), retry("commit_unknown")},
		{"commit error: conflict", CommitError(errOC000), retry("OC000")},
		{"commit error: limit", CommitError(errLimits), fail},
		{"limits 54000", errLimits, fail},
		{"unique 23505", errUnique, fail},
		{"foreign key 23503", errFK, fail},
		{"undefined table 42P01", errUndefinedTable, fail},
		{"io.EOF", io.EOF, retry("conn_lost")},
		{"io.ErrUnexpectedEOF", io.ErrUnexpectedEOF, retry("conn_lost")},
		{"net.OpError reset", errReset, retry("conn_lost")},
		{"bare EPIPE", syscall.EPIPE, retry("conn_lost")},
		{"bare ECONNREFUSED", syscall.ECONNREFUSED, retry("conn_lost")},
		{"pgx SafeToRetry", safeToRetry{}, retry("conn_lost")},
		{"commit unknown (pointer)", &CommitUnknownError{Err: errReset}, retry("commit_unknown")},
		{"commit unknown (value)", CommitUnknownError{Err: io.ErrUnexpectedEOF}, retry("commit_unknown")},
		{"commit unknown over a deadline", &CommitUnknownError{Err: context.DeadlineExceeded}, retry("commit_unknown")},
		{"embedded conflict (pointer)", &ConflictError{Detail: "auction a1"}, retry("40001")},
		{"embedded conflict (value)", ConflictError{}, retry("40001")},
		{"attempt deadline", context.DeadlineExceeded, retry("timeout")},
		{"canceled", context.Canceled, fail},
		{"rejection", &rejection{"bid_too_low"}, Verdict{Class: Reject}},
		{"ErrTooLarge", ErrTooLarge, fail},
		{"anything else", errors.New("boom"), fail},
	}
	for _, tc := range cases {
		for _, depth := range []string{"bare", "wrapped"} {
			err := tc.err
			if depth == "wrapped" {
				err = wrap(err)
			}
			t.Run(tc.name+"/"+depth, func(t *testing.T) {
				if got := Classify(err); got != tc.want {
					t.Errorf("Classify(%v) = %+v, want %+v", err, got, tc.want)
				}
			})
		}
	}

	t.Run("real pgconn.ConnectError", func(t *testing.T) {
		err := wrap(realConnectError(t))
		if got, want := Classify(err), retry("conn_lost"); got != want {
			t.Errorf("Classify(%v) = %+v, want %+v", err, got, want)
		}
	})
	t.Run("CommitUnknownError with nil Err", func(t *testing.T) {
		err := &CommitUnknownError{}
		if err.Error() == "" || Classify(err) != retry("commit_unknown") {
			t.Errorf("CommitUnknownError{} = %q, %+v", err.Error(), Classify(err))
		}
	})
	t.Run("nil", func(t *testing.T) {
		if got := Classify(nil); got.Class != Fail || got.Code != "" {
			t.Errorf("Classify(nil) = %+v", got)
		}
	})
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Retry: "retry", Reject: "reject", Fail: "fail", 0: "unknown"} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestCommitError(t *testing.T) {
	if CommitError(nil) != nil {
		t.Error("CommitError(nil) != nil")
	}
	for _, err := range []error{errOC000, errUnique, wrap(errLimits)} {
		if got := CommitError(err); got != err {
			t.Errorf("CommitError(%v) = %v, want it unchanged: the server answered", err, got)
		}
	}
	for _, err := range []error{errReset, io.ErrUnexpectedEOF, context.DeadlineExceeded,
		&pgconn.PgError{Code: "08006"}, &pgconn.PgError{Code: "57P01"}} {
		var cu CommitUnknownError
		if got := CommitError(err); !errors.As(got, &cu) || !errors.Is(got, err) {
			t.Errorf("CommitError(%v) = %v, want a CommitUnknownError wrapping it", err, got)
		}
	}
}

func TestExceededLimit(t *testing.T) {
	cases := []struct {
		msg  string
		want Limit
	}{
		{"transaction row limit exceeded", LimitRows}, // recorded from a cluster
		{"key size too large", LimitKey},              // documented
		{"maximum row size exceeded", LimitRow},
		{"maximum column size exceeded", LimitColumn},
		{"transaction size limit 10 MiB exceeded", LimitSize},
		{"transaction age limit of 300s exceeded", LimitAge},
		{"something else", LimitUnknown},
	}
	for _, tc := range cases {
		err := wrap(&pgconn.PgError{Code: "54000", Message: tc.msg})
		got, ok := ExceededLimit(err)
		if !ok || got != tc.want {
			t.Errorf("ExceededLimit(%q) = %q, %v; want %q", tc.msg, got, ok, tc.want)
		}
		if d := got.Describe(); d == "" {
			t.Errorf("%q has no description", got)
		}
	}
	for _, err := range []error{nil, errOC000, errors.New("54000"), &pgconn.PgError{Code: "54011", Message: "tables can have at most 255 columns"}} {
		if l, ok := ExceededLimit(err); ok {
			t.Errorf("ExceededLimit(%v) = %q, true; want false", err, l)
		}
	}
	if !strings.Contains(LimitRows.Describe(), "3,000 rows") || !strings.Contains(LimitSize.Describe(), "10 MiB") {
		t.Errorf("descriptions do not name the numbers: %q, %q", LimitRows.Describe(), LimitSize.Describe())
	}
}
