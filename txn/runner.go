package txn

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"hotrow/internal/clock"
)

// Outcome is how a [Runner.Run] ended: the outcome label of
// hotrow_txn_commits_total.
type Outcome string

const (
	Committed Outcome = "committed" // an attempt returned nil
	Rejected  Outcome = "rejected"  // an attempt returned a Rejection
	Failed    Outcome = "failed"    // a permanent error, or ctx ended
	Exhausted Outcome = "exhausted" // every attempt failed with a retryable error
)

// Result reports a [Runner.Run]: how many attempts it made and how it ended.
// Attempts is what the wire ack reports (1 = no retry).
type Result struct {
	Attempts int
	Outcome  Outcome
}

// Runner runs attempt functions with retries. Its zero value is usable
// (default policy, no metrics, real clock, math/rand/v2, slog.Default());
// it is safe for concurrent use if its fields are not changed meanwhile.
type Runner struct {
	Policy  Policy
	Metrics *Metrics       // may be nil
	Clock   clock.Clock    // nil → clock.Real{}
	Rand    func() float64 // in [0,1), for jitter; nil → math/rand/v2
	Log     *slog.Logger   // nil → slog.Default(); Debug per retry only
}

// Run calls attempt until it commits (returns nil), and then returns nil.
//
// An attempt that returns a [Rejection] ends Run at once with outcome
// [Rejected]; the rejection is returned as is. A permanent error (see
// [Classify]) ends Run with outcome [Failed], wrapped with kind/op context
// (and with [ErrTooLarge] for SQLSTATE 54000). A retryable error is retried
// after a full-jitter exponential back-off (see [Policy]) until MaxAttempts
// attempts were made; then Run returns, with outcome [Exhausted], an error
// wrapping both [ErrExhausted] and the last attempt's error.
//
// Each attempt receives a child of ctx with a deadline of AttemptTimeout;
// when it passes while ctx is alive the attempt is retried (code "timeout").
// When ctx itself ends, Run stops without another attempt or back-off and
// returns an error wrapping ctx's error (and the attempt's, if any), with
// outcome [Failed].
//
// attempt must roll back its transaction before it returns an error, and be
// idempotent: it may run more than once, and an ambiguous commit
// ([CommitUnknownError]) is retried.
func (r *Runner) Run(ctx context.Context, kind, op string, attempt func(ctx context.Context) error) (Result, error) {
	p := r.Policy.withDefaults()
	clk := r.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	start := clk.Now()
	var res Result
	end := func(o Outcome, err error) (Result, error) {
		res.Outcome = o
		r.Metrics.done(kind, op, res, clk.Now().Sub(start).Seconds())
		return res, err
	}

	for {
		if err := ctx.Err(); err != nil {
			return end(Failed, fmt.Errorf("txn %s/%s: stopped after %d attempts: %w", kind, op, res.Attempts, err))
		}
		res.Attempts++
		r.Metrics.attempt(kind, op)
		err := runAttempt(ctx, p.AttemptTimeout, attempt)
		if err == nil {
			return end(Committed, nil)
		}
		v := Classify(err)
		if v.Class == Reject {
			return end(Rejected, err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return end(Failed, fmt.Errorf("txn %s/%s: stopped after %d attempts: %w (last attempt: %w)", kind, op, res.Attempts, ctxErr, err))
		}
		if v.Class != Retry {
			if l, ok := ExceededLimit(err); ok {
				return end(Failed, fmt.Errorf("txn %s/%s: %w (%s): %w", kind, op, ErrTooLarge, l.Describe(), err))
			}
			return end(Failed, fmt.Errorf("txn %s/%s: attempt %d: %w", kind, op, res.Attempts, err))
		}

		r.Metrics.conflict(kind, op, v.Code)
		if res.Attempts >= p.MaxAttempts {
			return end(Exhausted, fmt.Errorf("txn %s/%s: %w after %d attempts: %w", kind, op, ErrExhausted, res.Attempts, err))
		}
		delay := p.backoff(res.Attempts, v.Slow, r.rand())
		r.logRetry(ctx, kind, op, res.Attempts, v, delay, err)
		if serr := clock.Sleep(ctx, clk, delay); serr != nil {
			return end(Failed, fmt.Errorf("txn %s/%s: stopped after %d attempts: %w (last attempt: %w)", kind, op, res.Attempts, serr, err))
		}
	}
}

// runAttempt runs one attempt under its own deadline.
func runAttempt(ctx context.Context, timeout time.Duration, attempt func(ctx context.Context) error) error {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return attempt(actx)
}

func (r *Runner) rand() float64 {
	if r.Rand != nil {
		return r.Rand()
	}
	return rand.Float64()
}

func (r *Runner) logRetry(ctx context.Context, kind, op string, n int, v Verdict, delay time.Duration, err error) {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	if !log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	log.LogAttrs(ctx, slog.LevelDebug, "txn retry",
		slog.String("kind", kind),
		slog.String("op", op),
		slog.Int("attempt", n),
		slog.String("code", v.Code),
		slog.Bool("slow", v.Slow),
		slog.Duration("backoff", delay),
		slog.Any("err", err),
	)
}
