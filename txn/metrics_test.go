package txn

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsNamesAndBuckets(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.attempt("auction", "bid")
	m.conflict("auction", "bid", "OC000")
	m.done("auction", "bid", Result{Attempts: 2, Outcome: Committed}, 0.003)

	want := `
# HELP hotrow_txn_attempts_per_message Transaction attempts each message took, whatever its outcome.
# TYPE hotrow_txn_attempts_per_message histogram
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="1"} 0
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="2"} 1
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="3"} 1
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="4"} 1
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="5"} 1
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="6"} 1
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="8"} 1
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="10"} 1
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="15"} 1
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="20"} 1
hotrow_txn_attempts_per_message_bucket{kind="auction",op="bid",le="+Inf"} 1
hotrow_txn_attempts_per_message_sum{kind="auction",op="bid"} 2
hotrow_txn_attempts_per_message_count{kind="auction",op="bid"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "hotrow_txn_attempts_per_message"); err != nil {
		t.Error(err)
	}
	for name, n := range map[string]int{
		"hotrow_txn_attempts_total":       1,
		"hotrow_txn_conflicts_total":      len(ConflictCodes),
		"hotrow_txn_commits_total":        len(Outcomes),
		"hotrow_txn_attempts_per_message": 1,
		"hotrow_txn_duration_seconds":     1,
	} {
		if got, err := testutil.GatherAndCount(reg, name); err != nil || got != n {
			t.Errorf("%s: %d series (%v), want %d", name, got, err, n)
		}
	}
	if DurationBuckets[0] != 0.001 || DurationBuckets[len(DurationBuckets)-1] != 10 {
		t.Errorf("duration buckets %v, want 1ms to 10s", DurationBuckets)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// A kind/op pair's conflict and outcome series exist at zero from its first
// attempt, so that rate() and increase() see the first conflict and the
// first exhaustion; other pairs get none until they run.
func TestMetricsDeclareSeriesAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.attempt("schema", "add_column")
	m.attempt("schema", "add_column")
	m.done("schema", "add_column", Result{Attempts: 1, Outcome: Committed}, 0.001)

	for _, c := range ConflictCodes {
		if got := testutil.ToFloat64(m.Conflicts.WithLabelValues("schema", "add_column", c)); got != 0 {
			t.Errorf("conflicts{code=%q} = %v, want 0", c, got)
		}
	}
	for _, o := range Outcomes {
		want := 0.0
		if o == Committed {
			want = 1
		}
		if got := testutil.ToFloat64(m.Commits.WithLabelValues("schema", "add_column", string(o))); got != want {
			t.Errorf("commits{outcome=%q} = %v, want %v", o, got, want)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "hotrow_txn_conflicts_total"); err != nil || n != len(ConflictCodes) {
		t.Errorf("conflict series: %d (%v), want %d: one per code for the one pair that ran", n, err, len(ConflictCodes))
	}
	if len(ConflictCodes) != 8 || len(Outcomes) != 4 {
		t.Errorf("%d codes and %d outcomes: update the README's metrics list and deploy/ with them", len(ConflictCodes), len(Outcomes))
	}
}

func TestNewMetricsNilRegistererAndDoubleRegister(t *testing.T) {
	NewMetrics(nil).attempt("auction", "bid") // unregistered, still usable
	var m *Metrics
	m.attempt("auction", "bid") // nil is a no-op
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	defer func() {
		if recover() == nil {
			t.Error("registering twice on one registry did not panic")
		}
	}()
	NewMetrics(reg)
}
