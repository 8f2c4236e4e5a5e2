package txn

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Limit names the database limit a transaction exceeded (SQLSTATE 54000).
// Aurora DSQL's limits (user guide, "Cluster quotas and database limits"):
// 3,000 rows and 10 MiB written per transaction, 5 minutes per
// transaction, 1 KiB per primary or index key, 2 MiB per row, 1 MiB per
// column value.
type Limit string

const (
	LimitRows    Limit = "rows"    // "transaction row limit exceeded" (recorded from a cluster)
	LimitSize    Limit = "size"    // the data written by one transaction
	LimitAge     Limit = "age"     // the transaction's duration
	LimitKey     Limit = "key"     // "key size too large"
	LimitRow     Limit = "row"     // "maximum row size exceeded"
	LimitColumn  Limit = "column"  // "maximum column size exceeded"
	LimitUnknown Limit = "unknown" // a 54000 whose message names none of these
)

// Describe says the limit in words a client can act on.
func (l Limit) Describe() string {
	switch l {
	case LimitRows:
		return "at most 3,000 rows written per transaction"
	case LimitSize:
		return "at most 10 MiB written per transaction"
	case LimitAge:
		return "at most 5 minutes per transaction"
	case LimitKey:
		return "at most 1 KiB per primary or index key"
	case LimitRow:
		return "at most 2 MiB per row"
	case LimitColumn:
		return "at most 1 MiB per column value"
	}
	return "a database limit"
}

// ExceededLimit reports whether err (possibly wrapped) is the database
// refusing a transaction over one of its limits (SQLSTATE 54000), and
// which limit its message names. Engines put Limit.Describe in the reply:
// resending cannot help, the change must be made smaller.
func ExceededLimit(err error) (Limit, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "54000" {
		return "", false
	}
	return limitNamed(pgErr.Message), true
}

// limitNamed reads the limit from a 54000 message: the recorded row-limit
// message, the documented key, row and column messages, and for the size
// and duration of a transaction (whose messages were neither recorded nor
// documented) the words they must use.
func limitNamed(msg string) Limit {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "row limit"), strings.Contains(m, "rows"):
		return LimitRows
	case strings.Contains(m, "key size"):
		return LimitKey
	case strings.Contains(m, "row size"):
		return LimitRow
	case strings.Contains(m, "column size"):
		return LimitColumn
	case strings.Contains(m, "age"), strings.Contains(m, "duration"), strings.Contains(m, "time"):
		return LimitAge
	case strings.Contains(m, "size"), strings.Contains(m, "bytes"), strings.Contains(m, "mib"):
		return LimitSize
	}
	return LimitUnknown
}
