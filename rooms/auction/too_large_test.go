package auction_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A transaction over DSQL's limits (54000) is not retried, and the bidder
// is told why and that a resend will not help.
func TestEngineTooLargeIsReportedNotRetried(t *testing.T) {
	e := newEnv(t)
	e.create(nil)
	en := e.engine()
	e.mem.KV().FailCommits(func() error {
		return fmt.Errorf("commit: %w", &pgconn.PgError{Code: "54000", Message: "transaction row limit exceeded"})
	})
	out := apply(en, bid("bob", "b1", `"100.00"`))
	r := wantReject(t, out, "unavailable")
	if !strings.Contains(r.Message, "at most 3,000 rows written per transaction") || !strings.Contains(r.Message, "will not help") {
		t.Errorf("message %q does not say the limit was exceeded", r.Message)
	}
	if got := e.attempts("bid"); got != 1 {
		t.Errorf("%v attempts for a 54000: it must not be retried", got)
	}
	if n := len(e.bids()); n != 0 {
		t.Errorf("%d bid rows after a failed transaction", n)
	}
}
