package txn

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"hotrow/internal/clock"
)

func half() float64 { return 0.5 }

func newTestRunner(p Policy) (*Runner, *sleepClock, *logRecorder, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	clk := newSleepClock()
	logs := &logRecorder{}
	return &Runner{
		Policy:  p,
		Metrics: NewMetrics(reg),
		Clock:   clk,
		Rand:    half,
		Log:     slog.New(logs),
	}, clk, logs, reg
}

func TestRun(t *testing.T) {
	rej := &rejection{"bid_too_low"}
	lastErr := &pgconn.PgError{Severity: "ERROR", Code: "40001", Message: "change conflicts with another transaction, please retry: (OC000) last"}
	cases := []struct {
		name      string
		maxTries  int
		errs      []error
		outcome   Outcome
		attempts  int
		conflicts map[string]int // code → count
		check     func(t *testing.T, err error)
	}{
		{
			name: "commits first time", errs: nil,
			outcome: Committed, attempts: 1,
			check: func(t *testing.T, err error) {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name: "retries every retryable error then commits",
			errs: []error{wrap(errOC000), errOC001, wrap(errSerialization), errDeadlock, wrap(errReset),
				&CommitUnknownError{Err: errReset}, &ConflictError{Detail: "x"}, wrap(context.DeadlineExceeded)},
			outcome: Committed, attempts: 9,
			conflicts: map[string]int{"OC000": 1, "OC001": 1, "40001": 2, "40P01": 1, "conn_lost": 1, "commit_unknown": 1, "timeout": 1},
			check: func(t *testing.T, err error) {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name: "rejection is returned as is and never retried", errs: []error{rej},
			outcome: Rejected, attempts: 1,
			check: func(t *testing.T, err error) {
				if err != rej {
					t.Fatalf("err = %v, want the rejection itself", err)
				}
			},
		},
		{
			name: "rejection after a conflict", errs: []error{errOC000, wrap(rej)},
			outcome: Rejected, attempts: 2, conflicts: map[string]int{"OC000": 1},
			check: func(t *testing.T, err error) {
				var r Rejection
				if !errors.As(err, &r) || r.RejectReason() != "bid_too_low" {
					t.Fatalf("err = %v, want the rejection", err)
				}
			},
		},
		{
			name: "unique violation fails at once", errs: []error{wrap(errUnique)},
			outcome: Failed, attempts: 1,
			check: func(t *testing.T, err error) {
				var pg *pgconn.PgError
				if !errors.As(err, &pg) || pg.Code != "23505" {
					t.Fatalf("err = %v, want the 23505", err)
				}
				if !strings.Contains(err.Error(), "auction/bid") {
					t.Errorf("err %q lacks kind/op", err)
				}
			},
		},
		{
			name: "54000 fails with ErrTooLarge", errs: []error{errOC000, wrap(errLimits)},
			outcome: Failed, attempts: 2, conflicts: map[string]int{"OC000": 1},
			check: func(t *testing.T, err error) {
				var pg *pgconn.PgError
				if !errors.Is(err, ErrTooLarge) || !errors.As(err, &pg) || pg.Code != "54000" {
					t.Fatalf("err = %v, want ErrTooLarge and the 54000", err)
				}
				if !strings.Contains(err.Error(), "3,000 rows") || !strings.Contains(err.Error(), "not retried") {
					t.Errorf("err %q does not explain the limit", err)
				}
			},
		},
		{
			name: "canceled from inside is not retried", errs: []error{context.Canceled},
			outcome: Failed, attempts: 1,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name: "gives up at the bound", maxTries: 3,
			errs:    []error{errOC001, wrap(errRate), wrap(lastErr), nil},
			outcome: Exhausted, attempts: 3, conflicts: map[string]int{"OC001": 1, "53400": 1, "OC000": 1},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrExhausted) {
					t.Fatalf("err = %v, want ErrExhausted", err)
				}
				if !errors.Is(err, lastErr) {
					t.Fatalf("err = %v, want the last attempt's error", err)
				}
				if !strings.Contains(err.Error(), "3 attempts") {
					t.Errorf("err %q does not say how many attempts", err)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, clk, logs, reg := newTestRunner(Policy{MaxAttempts: tc.maxTries})
			attempt, calls := script(tc.errs...)
			res, err := r.Run(context.Background(), "auction", "bid", attempt)
			tc.check(t, err)
			if res.Outcome != tc.outcome || res.Attempts != tc.attempts {
				t.Errorf("Result = %+v, want {%d %s}", res, tc.attempts, tc.outcome)
			}
			if calls() != tc.attempts {
				t.Errorf("attempt called %d times, want %d", calls(), tc.attempts)
			}

			m := r.Metrics
			if got := testutil.ToFloat64(m.Attempts.WithLabelValues("auction", "bid")); got != float64(tc.attempts) {
				t.Errorf("attempts_total = %v, want %d", got, tc.attempts)
			}
			total := 0
			for code, n := range tc.conflicts {
				total += n
				if got := testutil.ToFloat64(m.Conflicts.WithLabelValues("auction", "bid", code)); got != float64(n) {
					t.Errorf("conflicts_total{code=%q} = %v, want %d", code, got, n)
				}
			}
			if got := countedSeries(t, m.Conflicts); got != len(tc.conflicts) {
				t.Errorf("%d conflict series counted, want %d", got, len(tc.conflicts))
			}
			for _, o := range []Outcome{Committed, Rejected, Failed, Exhausted} {
				want := 0.0
				if o == tc.outcome {
					want = 1
				}
				if got := testutil.ToFloat64(m.Commits.WithLabelValues("auction", "bid", string(o))); got != want {
					t.Errorf("commits_total{outcome=%s} = %v, want %v", o, got, want)
				}
			}
			h := histogram(t, m.AttemptsPerMessage.WithLabelValues("auction", "bid"))
			if h.GetSampleCount() != 1 || h.GetSampleSum() != float64(tc.attempts) {
				t.Errorf("attempts_per_message count %d sum %v, want 1, %d", h.GetSampleCount(), h.GetSampleSum(), tc.attempts)
			}

			// One back-off per retry; the duration is all of them.
			sleeps := clk.Sleeps()
			retries := total
			if tc.outcome == Exhausted {
				retries-- // no back-off after the last attempt
			}
			if len(sleeps) != retries {
				t.Errorf("%d back-offs %v, want %d", len(sleeps), sleeps, retries)
			}
			var slept time.Duration
			for _, d := range sleeps {
				slept += d
			}
			d := histogram(t, m.Duration.WithLabelValues("auction", "bid"))
			if d.GetSampleCount() != 1 || d.GetSampleSum() != slept.Seconds() {
				t.Errorf("duration count %d sum %v, want 1, %v", d.GetSampleCount(), d.GetSampleSum(), slept.Seconds())
			}

			// Debug per retry, nothing louder.
			lv := logs.Levels()
			if len(lv) != retries {
				t.Errorf("%d log records, want %d", len(lv), retries)
			}
			for _, l := range lv {
				if l != slog.LevelDebug {
					t.Errorf("logged at %v, want Debug only", l)
				}
			}
			if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
				t.Errorf("metric lint: %v %v", problems, err)
			}
		})
	}
}

func histogram(t *testing.T, o prometheus.Observer) *dto.Histogram {
	t.Helper()
	var m dto.Metric
	if err := o.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram()
}

func TestRunBackoffSequence(t *testing.T) {
	ms := time.Millisecond
	conflict := errOC000
	cases := []struct {
		name string
		err  error
		want []time.Duration
	}{
		{"exponential, capped, half of each ceiling", conflict,
			[]time.Duration{1 * ms, 2 * ms, 4 * ms, 8 * ms, 16 * ms, 32 * ms, 64 * ms, 125 * ms, 125 * ms}},
		{"slow (53400) backs off at the cap at once", errRate,
			[]time.Duration{125 * ms, 125 * ms, 125 * ms, 125 * ms, 125 * ms, 125 * ms, 125 * ms, 125 * ms, 125 * ms}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, clk, _, _ := newTestRunner(Policy{})
			errs := make([]error, 10)
			for i := range errs {
				errs[i] = tc.err
			}
			attempt, _ := script(errs...)
			res, err := r.Run(context.Background(), "schema", "edit", attempt)
			if !errors.Is(err, ErrExhausted) || res.Attempts != 10 {
				t.Fatalf("Run = %+v, %v", res, err)
			}
			got := clk.Sleeps()
			if len(got) != len(tc.want) {
				t.Fatalf("sleeps %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("sleep %d = %v, want %v", i+1, got[i], tc.want[i])
				}
			}
		})
	}

	t.Run("slow sleeps more than normal in total", func(t *testing.T) {
		total := func(err error) time.Duration {
			r, clk, _, _ := newTestRunner(Policy{MaxAttempts: 5})
			attempt, _ := script(err, err, err, err, err)
			r.Run(context.Background(), "auction", "bid", attempt)
			var s time.Duration
			for _, d := range clk.Sleeps() {
				s += d
			}
			return s
		}
		if n, s := total(errOC000), total(errRate); s <= n {
			t.Errorf("slow back-off %v not more than normal %v", s, n)
		}
	})

	t.Run("default random jitter stays under the ceilings", func(t *testing.T) {
		r, clk, _, _ := newTestRunner(Policy{})
		r.Rand = nil
		errs := make([]error, 10)
		for i := range errs {
			errs[i] = conflict
		}
		attempt, _ := script(errs...)
		r.Run(context.Background(), "auction", "bid", attempt)
		p := DefaultPolicy()
		for i, d := range clk.Sleeps() {
			if c := p.ceiling(i+1, false); d < 0 || d >= c {
				t.Errorf("sleep %d = %v, not in [0, %v)", i+1, d, c)
			}
		}
	})
}

func TestRunAttemptDeadline(t *testing.T) {
	r, _, _, _ := newTestRunner(Policy{AttemptTimeout: 3 * time.Second})
	var deadlines []time.Duration
	attempt := func(ctx context.Context) error {
		dl, ok := ctx.Deadline()
		if !ok {
			t.Fatal("attempt ctx has no deadline")
		}
		deadlines = append(deadlines, time.Until(dl))
		if len(deadlines) < 2 {
			return errOC000
		}
		return nil
	}
	if _, err := r.Run(context.Background(), "auction", "bid", attempt); err != nil {
		t.Fatal(err)
	}
	for i, d := range deadlines {
		if d > 3*time.Second || d < 2*time.Second {
			t.Errorf("attempt %d deadline in %v, want about 3s", i+1, d)
		}
	}

	t.Run("parent deadline sooner wins", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r.Run(ctx, "auction", "bid", func(actx context.Context) error {
			a, _ := actx.Deadline()
			p, _ := ctx.Deadline()
			if !a.Equal(p) {
				t.Errorf("attempt deadline %v, parent %v", a, p)
			}
			return nil
		})
	})

	t.Run("attempt timeout is retried while ctx lives", func(t *testing.T) {
		r, _, _, _ := newTestRunner(Policy{AttemptTimeout: time.Millisecond})
		n := 0
		res, err := r.Run(context.Background(), "auction", "bid", func(ctx context.Context) error {
			n++
			if n == 1 {
				<-ctx.Done() // the 1ms attempt deadline
				return ctx.Err()
			}
			return nil
		})
		if err != nil || res.Attempts != 2 || res.Outcome != Committed {
			t.Fatalf("Run = %+v, %v", res, err)
		}
		if got := testutil.ToFloat64(r.Metrics.Conflicts.WithLabelValues("auction", "bid", "timeout")); got != 1 {
			t.Errorf("timeout conflicts = %v, want 1", got)
		}
	})
}

func TestRunParentContext(t *testing.T) {
	t.Run("cancel during back-off stops promptly", func(t *testing.T) {
		fake := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		r := &Runner{Clock: fake, Rand: half, Metrics: NewMetrics(prometheus.NewRegistry())}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		attempt, calls := script(errOC000, errOC000, errOC000)
		type ret struct {
			res Result
			err error
		}
		done := make(chan ret, 1)
		go func() {
			res, err := r.Run(ctx, "auction", "bid", attempt)
			done <- ret{res, err}
		}()
		// Wait until Run is backing off on the fake clock (which never moves).
		deadline := time.Now().Add(5 * time.Second)
		for fake.Timers() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("Run never started backing off")
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		select {
		case got := <-done:
			if !errors.Is(got.err, context.Canceled) || got.res.Outcome != Failed || got.res.Attempts != 1 {
				t.Errorf("Run = %+v, %v; want failed after 1 attempt with context.Canceled", got.res, got.err)
			}
			if !errors.Is(got.err, errOC000) {
				t.Errorf("err %v lost the last attempt's error", got.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		if calls() != 1 {
			t.Errorf("%d attempts after cancel, want 1", calls())
		}
		if got := testutil.ToFloat64(r.Metrics.Commits.WithLabelValues("auction", "bid", "failed")); got != 1 {
			t.Errorf("commits_total{failed} = %v", got)
		}
	})

	t.Run("cancel during attempt is not retried", func(t *testing.T) {
		r, clk, _, _ := newTestRunner(Policy{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res, err := r.Run(ctx, "auction", "bid", func(actx context.Context) error {
			cancel()
			<-actx.Done()
			return wrap(errReset) // what pgx reports when its socket is torn down
		})
		if !errors.Is(err, context.Canceled) || res.Outcome != Failed || res.Attempts != 1 {
			t.Errorf("Run = %+v, %v", res, err)
		}
		if len(clk.Sleeps()) != 0 {
			t.Errorf("backed off after cancel: %v", clk.Sleeps())
		}
		if got := countedSeries(t, r.Metrics.Conflicts); got != 0 {
			t.Errorf("counted %d conflicts for a canceled message", got)
		}
	})

	t.Run("parent deadline during attempt is not retried", func(t *testing.T) {
		r, _, _, _ := newTestRunner(Policy{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		res, err := r.Run(ctx, "auction", "bid", func(actx context.Context) error {
			<-actx.Done()
			return actx.Err()
		})
		if !errors.Is(err, context.DeadlineExceeded) || res.Outcome != Failed || res.Attempts != 1 {
			t.Errorf("Run = %+v, %v", res, err)
		}
	})

	t.Run("already canceled makes no attempt", func(t *testing.T) {
		r, _, _, _ := newTestRunner(Policy{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		attempt, calls := script()
		res, err := r.Run(ctx, "auction", "bid", attempt)
		if !errors.Is(err, context.Canceled) || res.Outcome != Failed || res.Attempts != 0 || calls() != 0 {
			t.Errorf("Run = %+v, %v, %d calls", res, err, calls())
		}
		if got := testutil.ToFloat64(r.Metrics.Commits.WithLabelValues("auction", "bid", "failed")); got != 1 {
			t.Errorf("commits_total{failed} = %v", got)
		}
	})

	t.Run("commit wins over a cancel after it", func(t *testing.T) {
		r, _, _, _ := newTestRunner(Policy{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res, err := r.Run(ctx, "auction", "bid", func(context.Context) error { cancel(); return nil })
		if err != nil || res.Outcome != Committed {
			t.Errorf("Run = %+v, %v", res, err)
		}
	})
}

func TestRunZeroValueAndNilMetrics(t *testing.T) {
	r := &Runner{Clock: newSleepClock()}
	attempt, _ := script(errOC000, errDeadlock)
	res, err := r.Run(context.Background(), "schema", "edit", attempt)
	if err != nil || res != (Result{Attempts: 3, Outcome: Committed}) {
		t.Fatalf("Run = %+v, %v", res, err)
	}
}

func TestRunConcurrent(t *testing.T) {
	r, _, _, _ := newTestRunner(Policy{})
	const n = 50
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			attempt, _ := script(errOC000)
			if _, err := r.Run(context.Background(), "auction", "bid", attempt); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := testutil.ToFloat64(r.Metrics.Attempts.WithLabelValues("auction", "bid")); got != 2*n {
		t.Errorf("attempts_total = %v, want %d", got, 2*n)
	}
	if got := testutil.ToFloat64(r.Metrics.Commits.WithLabelValues("auction", "bid", "committed")); got != n {
		t.Errorf("commits_total = %v, want %d", got, n)
	}
}
