package hub

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The bounded series exist at zero before anything happened, so the first
// slow-consumer eviction or dropped frame is an increase that rate() and
// increase() can see.
func TestMetricsDeclaredAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, []string{"bid", "edit"})
	for name, want := range map[string]int{
		"hotrow_ws_disconnects_total":    8,
		"hotrow_ws_frames_dropped_total": 1,
		"hotrow_ws_messages_total":       5 + 2 + 1, // the hub's types, the kinds' ops, other
		"hotrow_connections":             1,
	} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != want {
			t.Errorf("%s: %d series (%v), want %d", name, n, err, want)
		}
	}
	for _, r := range []string{"client", "slow_consumer", "too_big", "invalid_utf8", "token_expired", "shutdown", "resync", "error"} {
		if v := testutil.ToFloat64(m.disconnects.WithLabelValues(r)); v != 0 {
			t.Errorf("disconnects{reason=%q} = %v, want 0", r, v)
		}
	}
	if v := testutil.ToFloat64(m.dropped.WithLabelValues("queue_half_full")); v != 0 {
		t.Errorf("dropped{reason=queue_half_full} = %v, want 0", v)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
