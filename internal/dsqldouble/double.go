package dsqldouble

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base32"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configure a Double. Zero fields take their defaults.
type Options struct {
	// Upstream is the connection string of the PostgreSQL database the
	// double stands in front of (required). Its user must be able to
	// create the sys schema there.
	Upstream string
	// Region is the cluster's region; default us-east-1.
	Region string
	// Endpoint is the cluster's host name; default a random
	// <26 letters>.dsql.<Region>.on.aws. It is the name in the TLS
	// certificate and the host a token must be signed for; it need not
	// resolve: clients dial Addr.
	Endpoint string
	// Credentials, keyed by access key id, let the double check a token's
	// signature as well as its form. Empty: any well-formed, unexpired
	// token for the endpoint and region is accepted.
	Credentials []aws.Credentials
	// RoundTripDelay is added before every answer to a Sync, Query or
	// Flush: the network between a hub and a cluster. Default 0; see also
	// SetRoundTripDelay.
	RoundTripDelay time.Duration
	// SchemaSettle is how long after another session's schema change a
	// writing transaction that begins is still answered OC001 at COMMIT;
	// one that ran across the change always is. Default 0.
	SchemaSettle time.Duration
	// MaxRows is the rows a transaction may write; default 3,000.
	MaxRows int
	// Now is the clock tokens are checked against; default time.Now.
	Now func() time.Time
	// IndexOutcome, when set, is asked after each index build; a non-empty
	// status replaces the build's own outcome in sys.jobs (for tests of a
	// failed job or one completed with an error in details).
	IndexOutcome func(index string) (status, details string)
	// Logf, when set, gets the double's diagnostics.
	Logf func(format string, args ...any)
}

// Double is a PostgreSQL wire-protocol proxy that answers as an Aurora
// DSQL cluster does; see the package documentation.
type Double struct {
	upstream *pgconn.Config
	admin    *pgxpool.Pool
	endpoint string
	region   string
	creds    map[string]aws.Credentials
	certs    *certs
	settle   time.Duration
	maxRows  int
	now      func() time.Time
	logFn    func(string, ...any)

	cluster *cluster
	jobs    *jobs

	delayNS       atomic.Int64
	roundTrips    atomic.Int64
	cutNextCommit atomic.Bool

	ln       net.Listener
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
	sessions []*SessionStats
	nextID   int64
}

// Start starts a double on a loopback port.
func Start(ctx context.Context, o Options) (*Double, error) {
	if o.Upstream == "" {
		return nil, fmt.Errorf("dsqldouble: Options.Upstream is required")
	}
	up, err := pgconn.ParseConfig(o.Upstream)
	if err != nil {
		return nil, fmt.Errorf("dsqldouble: upstream: %w", err)
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Endpoint == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
		o.Endpoint = id + ".dsql." + o.Region + ".on.aws"
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 3000 // documented quota; golden transaction.json:row_cap_boundary
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Double{upstream: up, endpoint: strings.ToLower(o.Endpoint), region: o.Region, settle: o.SchemaSettle,
		maxRows: o.MaxRows, now: o.Now, logFn: o.Logf, cluster: newCluster(), conns: map[net.Conn]bool{},
		creds: map[string]aws.Credentials{}}
	for _, c := range o.Credentials {
		d.creds[c.AccessKeyID] = c
	}
	d.delayNS.Store(int64(o.RoundTripDelay))
	if d.certs, err = newCerts(d.endpoint, time.Now()); err != nil {
		return nil, fmt.Errorf("dsqldouble: %w", err)
	}
	pc, err := pgxpool.ParseConfig(o.Upstream)
	if err != nil {
		return nil, fmt.Errorf("dsqldouble: upstream: %w", err)
	}
	pc.MaxConns = 4
	if d.admin, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, fmt.Errorf("dsqldouble: upstream: %w", err)
	}
	if _, err := d.admin.Exec(ctx, sysJobsDDL); err != nil {
		d.admin.Close()
		return nil, fmt.Errorf("dsqldouble: creating sys.jobs upstream: %w", err)
	}
	d.jobs = newJobs(d.admin, o.IndexOutcome, o.Now)
	if d.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		d.jobs.close()
		d.admin.Close()
		return nil, fmt.Errorf("dsqldouble: listen: %w", err)
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(1)
	go d.accept()
	return d, nil
}

func (d *Double) accept() {
	defer d.wg.Done()
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		d.mu.Lock()
		if d.ctx.Err() != nil {
			d.mu.Unlock()
			c.Close()
			return
		}
		d.nextID++
		st := &SessionStats{ID: d.nextID}
		d.sessions = append(d.sessions, st)
		d.conns[c] = true
		d.wg.Add(1)
		d.mu.Unlock()
		s := &session{d: d, id: st.ID, conn: c, stats: st, stmts: map[string]*prepared{}, portals: map[string]*portal{}}
		s.ctx, s.cancel = context.WithCancel(d.ctx)
		go func() {
			defer d.wg.Done()
			s.serve()
			d.mu.Lock()
			delete(d.conns, c)
			d.mu.Unlock()
		}()
	}
}

// Close stops the double: the listener, every session (its client and
// upstream connections are closed, so none waits on a lock) and the index
// builder. It returns once they have all stopped.
func (d *Double) Close() {
	d.mu.Lock()
	d.cancel()
	_ = d.ln.Close()
	for c := range d.conns {
		_ = c.Close()
	}
	d.mu.Unlock()
	d.wg.Wait()
	d.jobs.close()
	d.admin.Close()
}

// track registers an upstream connection for Close to end; false when the
// double is closing.
func (d *Double) track(c net.Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return false
	}
	d.conns[c] = true
	return true
}

func (d *Double) untrack(c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.conns, c)
}

// Addr is the host:port to dial.
func (d *Double) Addr() string { return d.ln.Addr().String() }

// Endpoint is the cluster's host name: the TLS server name and the host
// tokens are signed for.
func (d *Double) Endpoint() string { return d.endpoint }

// Region is the cluster's region.
func (d *Double) Region() string { return d.region }

// CertPool holds the certificate authority the double's TLS certificate
// chains to.
func (d *Double) CertPool() *x509.CertPool { return d.certs.pool }

// CAPEM is that certificate authority in PEM, for a client in another
// process (PGSSLROOTCERT).
func (d *Double) CAPEM() []byte { return append([]byte(nil), d.certs.caPEM...) }

// SetRoundTripDelay changes the delay added to every round trip.
func (d *Double) SetRoundTripDelay(delay time.Duration) { d.delayNS.Store(int64(delay)) }

func (d *Double) delay() time.Duration { return time.Duration(d.delayNS.Load()) }

// RoundTrips counts the Syncs, Queries and Flushes of every session: how
// many times clients waited for the double.
func (d *Double) RoundTrips() int64 { return d.roundTrips.Load() }

// Sessions describes every client connection made so far.
func (d *Double) Sessions() []*SessionStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*SessionStats(nil), d.sessions...)
}

// CutNextCommit makes the next successful COMMIT drop its connection
// instead of answering: the transaction is committed, and the client
// cannot know it.
func (d *Double) CutNextCommit() { d.cutNextCommit.Store(true) }

func (d *Double) logf(format string, args ...any) {
	if d.logFn != nil {
		d.logFn(format, args...)
	}
}

// forwardCancel passes a cancel request on to PostgreSQL: the client knows
// the upstream backend's key (BackendKeyData is passed through).
func (d *Double) forwardCancel(m *pgproto3.CancelRequest) {
	addr := net.JoinHostPort(d.upstream.Host, strconv.Itoa(int(d.upstream.Port)))
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	buf, err := m.Encode(nil)
	if err == nil {
		_, _ = c.Write(buf)
	}
}
