package bench

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// The load client finds every trigger in a frame: one event, a batch of
// them, or Centrifugo's newline-separated publications.
func TestTriggers(t *testing.T) {
	for _, tc := range []struct {
		frame string
		want  []int
	}{
		{`{"type":"event","data":{"amount":"1.07","id":"t-7"}}`, []int{7}},
		{`{"type":"batch","frames":[{"type":"event","data":{"id":"t-8"}},{"type":"presence","count":3},{"type":"event","data":{"id":"t-9"}}]}`, []int{8, 9}},
		{"{\"push\":{\"pub\":{\"data\":{\"id\":\"t-10\"}}}}\n{\"push\":{\"pub\":{\"data\":{\"id\":\"t-11\"}}}}", []int{10, 11}},
		{`{"type":"ack","id":"b-1"}`, nil},
	} {
		var got []int
		triggers([]byte(tc.frame), func(n int) { got = append(got, n) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("triggers(%s) = %v, want %v", tc.frame, got, tc.want)
		}
	}
}

// Presence bytes are counted frame by frame, inside batches too.
func TestPresenceBytes(t *testing.T) {
	h := &hotrowTarget{}
	p := `{"type":"presence","room":"auction:a","count":3}`
	if n := h.presence([]byte(p)); n != len(p) {
		t.Errorf("presence frame: %d bytes, want %d", n, len(p))
	}
	batch := `{"type":"batch","frames":[` + p + `,{"type":"event","data":{"id":"t-1"}}]}`
	if n := h.presence([]byte(batch)); n != len(p) {
		t.Errorf("batch: %d presence bytes, want %d", n, len(p))
	}
	if n := h.presence([]byte(`{"type":"event","data":{"id":"t-1"}}`)); n != 0 {
		t.Errorf("event: %d presence bytes, want 0", n)
	}
	// A cursors frame holds objects, and strings with braces and quotes.
	c := `{"type":"cursors","room":"schema:s","cursors":[{"user":"a","name":"}{\"","pos":{"x":1,"y":{"z":2}},"at":"t"}],"gone":[]}`
	batch = `{"type":"batch","frames":[{"type":"event","data":{"id":"t-1"}},` + c + `,` + p + `]}`
	if n := h.presence([]byte(batch)); n != len(c)+len(p) {
		t.Errorf("batch with cursors: %d presence bytes, want %d", n, len(c)+len(p))
	}
}

// Centrifugo's ping is answered alone or among publications.
func TestCentrifugoPing(t *testing.T) {
	c := &centrifugoTarget{}
	for _, f := range []string{`{}`, "{\"push\":{}}\n{}"} {
		if c.answer([]byte(f)) == nil {
			t.Errorf("%q: no pong", f)
		}
	}
	if c.answer([]byte(`{"push":{"pub":{}}}`)) != nil {
		t.Error("a publication was answered as a ping")
	}
}

// Over several runs a measure is the median, a count is the sum, and one
// failed run fails the column rather than being left out.
func TestCombineRuns(t *testing.T) {
	p99 := func(f *fanoutResult) float64 { return float64(f.latP99) }
	runs := func(vs ...time.Duration) []*fanoutResult {
		var rs []*fanoutResult
		for _, v := range vs {
			rs = append(rs, &fanoutResult{latP99: v})
		}
		return rs
	}
	for _, tc := range []struct {
		runs []*fanoutResult
		sum  bool
		want float64
	}{
		{runs(300, 100, 200), false, 200},
		{runs(400, 100, 200, 300), false, 250},
		{runs(7), false, 7},
		{runs(1, 2, 3), true, 6},
	} {
		got, ok := combine(tc.runs, p99, tc.sum)
		if !ok || got != tc.want {
			t.Errorf("combine(%v, sum=%v) = %v, %v; want %v", tc.runs, tc.sum, got, ok, tc.want)
		}
	}
	failed := runs(100, 200, 300)
	failed[1].err = errors.New("storm timed out")
	if _, ok := combine(failed, p99, false); ok {
		t.Error("a failed run was left out of the median")
	}
}
