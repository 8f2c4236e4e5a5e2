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
		"hotrow_txn_conflicts_total":      1,
		"hotrow_txn_commits_total":        1,
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
