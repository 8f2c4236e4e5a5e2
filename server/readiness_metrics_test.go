package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotrow/internal/clock"
	"hotrow/txn/memstore"
)

// pingStore is the embedded store with a ping that can be made to fail.
type pingStore struct {
	*memstore.Store
	err error
}

func (s *pingStore) Ping(ctx context.Context) error { return s.err }

func gauge(t *testing.T, a *app, name string) float64 {
	t.Helper()
	mfs, err := a.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s not exported", name)
	return 0
}

// hotrow_ready follows /readyz and hotrow_store_up the store's ping, at
// each scrape: store down, store back, then draining.
func TestReadinessMetrics(t *testing.T) {
	st := &pingStore{Store: memstore.New(clock.Real{})}
	h := startHub(t, st, "ready")
	check := func(stage string, wantReady, wantUp float64, wantCode int) {
		t.Helper()
		var body map[string]any
		if code := getJSON(t, h.url+"/readyz", &body); code != wantCode {
			t.Errorf("%s: /readyz %d, want %d", stage, code, wantCode)
		}
		if got := gauge(t, h.app, "hotrow_ready"); got != wantReady {
			t.Errorf("%s: hotrow_ready %v, want %v", stage, got, wantReady)
		}
		if got := gauge(t, h.app, "hotrow_store_up"); got != wantUp {
			t.Errorf("%s: hotrow_store_up %v, want %v", stage, got, wantUp)
		}
	}
	check("serving", 1, 1, http.StatusOK)
	st.err = errors.New("connection refused")
	check("store down", 0, 0, http.StatusServiceUnavailable)
	st.err = nil
	check("store back", 1, 1, http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.app.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	check("draining", 0, 1, http.StatusServiceUnavailable)
	if problems, err := testutil.GatherAndLint(h.app.metrics, "hotrow_ready", "hotrow_store_up"); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
