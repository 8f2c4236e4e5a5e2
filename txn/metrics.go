package txn

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the transaction figures every hotrow build exports. Labels are
// bounded: kind is the room kind ("auction", "schema"), op the operation,
// code a conflict code (see [Verdict]), outcome an [Outcome]. No label ever
// holds a room id or a user.
type Metrics struct {
	// Attempts counts every attempt: hotrow_txn_attempts_total{kind,op}.
	Attempts *prometheus.CounterVec
	// Conflicts counts every retryable failure: hotrow_txn_conflicts_total{kind,op,code}.
	Conflicts *prometheus.CounterVec
	// Commits counts every Run once, by outcome: hotrow_txn_commits_total{kind,op,outcome}.
	Commits *prometheus.CounterVec
	// AttemptsPerMessage observes the attempts each Run made, whatever its
	// outcome: hotrow_txn_attempts_per_message{kind,op}.
	AttemptsPerMessage *prometheus.HistogramVec
	// Duration observes each whole Run, back-off included, in seconds:
	// hotrow_txn_duration_seconds{kind,op}.
	Duration *prometheus.HistogramVec

	// declared holds the kind/op pairs whose conflict and outcome series
	// exist already (see declare).
	declared sync.Map
}

// ConflictCodes are the values of the code label of
// hotrow_txn_conflicts_total.
var ConflictCodes = []string{CodeSerialization, CodeDSQLData, CodeDSQLSchema, CodeDeadlock,
	CodeRateExceeded, CodeConnLost, CodeCommitUnknown, CodeTimeout}

// Outcomes are the values of the outcome label of hotrow_txn_commits_total.
var Outcomes = []Outcome{Committed, Rejected, Failed, Exhausted}

// AttemptBuckets are the buckets of hotrow_txn_attempts_per_message.
var AttemptBuckets = []float64{1, 2, 3, 4, 5, 6, 8, 10, 15, 20}

// DurationBuckets are the buckets of hotrow_txn_duration_seconds, 1ms to 10s.
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics creates the metrics and registers them on reg, panicking if they
// are already registered there. A nil reg leaves them unregistered (useful in
// tests); the global registry is never used implicitly.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_txn_attempts_total",
			Help: "Transaction attempts, including the first attempt of each message.",
		}, []string{"kind", "op"}),
		Conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_txn_conflicts_total",
			Help: "Transaction attempts that failed with a retryable error, by code (40001, OC000, OC001, 40P01, 53400, conn_lost, commit_unknown, timeout).",
		}, []string{"kind", "op", "code"}),
		Commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_txn_commits_total",
			Help: "Messages run as transactions, by final outcome (committed, rejected, failed, exhausted).",
		}, []string{"kind", "op", "outcome"}),
		AttemptsPerMessage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotrow_txn_attempts_per_message",
			Help:    "Transaction attempts each message took, whatever its outcome.",
			Buckets: AttemptBuckets,
		}, []string{"kind", "op"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotrow_txn_duration_seconds",
			Help:    "Time to run one message as a transaction, all attempts and back-off included.",
			Buckets: DurationBuckets,
		}, []string{"kind", "op"}),
	}
	if reg != nil {
		reg.MustRegister(m.Attempts, m.Conflicts, m.Commits, m.AttemptsPerMessage, m.Duration)
	}
	return m
}

func (m *Metrics) attempt(kind, op string) {
	if m != nil {
		m.declare(kind, op)
		m.Attempts.WithLabelValues(kind, op).Inc()
	}
}

// declare creates, at zero, every conflict-code and outcome series of a
// kind/op pair the first time the pair runs. A counter series that appears
// only with its first increment starts at 1, and rate() and increase() never
// see that first conflict or exhaustion: alerts on them would miss it. It
// also makes the families exist from the first message on, which the
// dashboards and alerts in deploy/ are checked against.
func (m *Metrics) declare(kind, op string) {
	if _, done := m.declared.LoadOrStore(kind+"\x00"+op, struct{}{}); done {
		return
	}
	for _, c := range ConflictCodes {
		m.Conflicts.WithLabelValues(kind, op, c)
	}
	for _, o := range Outcomes {
		m.Commits.WithLabelValues(kind, op, string(o))
	}
}

func (m *Metrics) conflict(kind, op, code string) {
	if m != nil {
		m.Conflicts.WithLabelValues(kind, op, code).Inc()
	}
}

func (m *Metrics) done(kind, op string, res Result, seconds float64) {
	if m == nil {
		return
	}
	m.Commits.WithLabelValues(kind, op, string(res.Outcome)).Inc()
	if res.Attempts > 0 {
		m.AttemptsPerMessage.WithLabelValues(kind, op).Observe(float64(res.Attempts))
	}
	m.Duration.WithLabelValues(kind, op).Observe(seconds)
}
