package dsqldouble

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// session is one client connection and its upstream connection.
type session struct {
	d      *Double
	id     int64
	conn   net.Conn
	be     *pgproto3.Backend
	up     *upstream
	user   string
	stats  *SessionStats
	ctx    context.Context // ends when the double closes or the client leaves
	cancel context.CancelFunc

	stmts   map[string]*prepared
	portals map[string]*portal
	tx      txn

	simple  bool // answering a simple Query (else the extended protocol)
	skip    bool // an error in the extended protocol: ignore until Sync
	errored bool // the current statement failed
	cut     bool // drop the connection instead of answering
	out     []pgproto3.BackendMessage
}

// prepared is a statement the client prepared.
type prepared struct {
	name string
	info *stmtInfo
	oids []uint32 // parameter types, once known
}

// portal is a statement the client bound to parameters.
type portal struct {
	stmt *prepared
	bind *pgproto3.Bind
}

// SessionStats describes one client connection.
type SessionStats struct {
	ID              int64
	User            string
	ApplicationName string
	roundTrips      atomic.Int64
}

// RoundTrips is how many times the client waited for an answer: Syncs,
// simple Queries and Flushes received.
func (s *SessionStats) RoundTrips() int64 { return s.roundTrips.Load() }

// errFatal ends a session after its answer is sent.
var errFatal = errors.New("session ends")

// serve runs the connection from the startup message to its end.
func (s *session) serve() {
	defer s.cancel()
	defer s.conn.Close()
	if err := s.startup(); err != nil {
		s.d.logf("dsqldouble: session %d: startup: %v", s.id, err)
		return
	}
	defer func() {
		s.d.untrack(s.up.conn)
		s.up.close()
	}()
	for {
		msg, err := s.be.Receive()
		if err != nil {
			return
		}
		if err := s.handle(msg); err != nil {
			if !errors.Is(err, errFatal) {
				s.d.logf("dsqldouble: session %d: %v", s.id, err)
			}
			return
		}
		if s.cut {
			return
		}
	}
}

// startup negotiates TLS, checks the IAM token and connects upstream.
func (s *session) startup() error {
	_ = s.conn.SetDeadline(time.Now().Add(30 * time.Second))
	defer s.conn.SetDeadline(time.Time{})
	be := pgproto3.NewBackend(s.conn, s.conn)
	tlsDone := false
	for {
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if tlsDone {
				return errors.New("SSLRequest over TLS")
			}
			if _, err := s.conn.Write([]byte{'S'}); err != nil {
				return err
			}
			tc := tls.Server(s.conn, &tls.Config{Certificates: []tls.Certificate{s.d.certs.server}, MinVersion: tls.VersionTLS12})
			if err := tc.HandshakeContext(s.ctx); err != nil {
				return fmt.Errorf("TLS handshake: %w", err)
			}
			s.conn, tlsDone = tc, true
			be = pgproto3.NewBackend(tc, tc)
			if !strings.EqualFold(tc.ConnectionState().ServerName, s.d.endpoint) {
				return s.refuse(be, noSNI())
			}
		case *pgproto3.GSSEncRequest:
			if _, err := s.conn.Write([]byte{'N'}); err != nil {
				return err
			}
		case *pgproto3.CancelRequest:
			s.d.forwardCancel(m)
			return errFatal
		case *pgproto3.StartupMessage:
			s.be = be
			return s.login(m, tlsDone)
		default:
			return fmt.Errorf("unexpected startup message %T", m)
		}
	}
}

func (s *session) refuse(be *pgproto3.Backend, e *pgproto3.ErrorResponse) error {
	be.Send(e)
	_ = be.Flush()
	return fmt.Errorf("refused: %s", e.Message)
}

func (s *session) login(m *pgproto3.StartupMessage, tlsDone bool) error {
	s.user = m.Parameters["user"]
	s.stats.User, s.stats.ApplicationName = s.user, m.Parameters["application_name"]
	if !tlsDone {
		// DSQL requires TLS (documented: connections are TLS-wrapped).
		e := sqlError(codeInvalidAuth, "unable to accept connection, TLS is required")
		e.Severity, e.SeverityUnlocalized = "FATAL", "FATAL"
		return s.refuse(s.be, e)
	}
	if db := m.Parameters["database"]; db != "postgres" {
		// A cluster has the one database "postgres" (golden
		// environment.json:env_current_database).
		e := sqlError(codeInvalidCatalog, "database %q does not exist", db)
		e.Severity, e.SeverityUnlocalized = "FATAL", "FATAL"
		return s.refuse(s.be, e)
	}
	s.be.Send(&pgproto3.AuthenticationCleartextPassword{})
	if err := s.be.Flush(); err != nil {
		return err
	}
	if err := s.be.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
		return err
	}
	msg, err := s.be.Receive()
	if err != nil {
		return err
	}
	pw, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		return fmt.Errorf("expected a password, got %T", msg)
	}
	if err := checkToken(pw.Password, s.user, s.d.endpoint, s.d.region, s.d.creds, s.d.now()); err != nil {
		return s.refuse(s.be, authFailed(s.user, err.Error()))
	}
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	up, err := dialUpstream(ctx, s.d.upstream, s.stats.ApplicationName)
	if err != nil {
		e := sqlError("08006", "upstream PostgreSQL: %v", err)
		e.Severity, e.SeverityUnlocalized = "FATAL", "FATAL"
		return s.refuse(s.be, e)
	}
	s.up = up
	if !s.d.track(up.conn) {
		up.close()
		return errFatal
	}
	s.be.Send(&pgproto3.AuthenticationOk{})
	for k, v := range up.params {
		s.be.Send(&pgproto3.ParameterStatus{Name: k, Value: v})
	}
	s.be.Send(&pgproto3.BackendKeyData{ProcessID: up.pid, SecretKey: up.secret})
	s.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	return s.be.Flush()
}

// handle answers one client message.
func (s *session) handle(msg pgproto3.FrontendMessage) error {
	switch m := msg.(type) {
	case *pgproto3.Query:
		s.stats.roundTrips.Add(1)
		s.d.roundTrips.Add(1)
		if err := s.simpleQuery(m.String); err != nil {
			return err
		}
		s.out = append(s.out, s.ready())
		return s.flush()
	case *pgproto3.Parse:
		return s.parse(&pgproto3.Parse{Name: m.Name, Query: m.Query, ParameterOIDs: append([]uint32(nil), m.ParameterOIDs...)})
	case *pgproto3.Bind:
		return s.bind(cloneBind(m))
	case *pgproto3.Describe:
		return s.describe(*m)
	case *pgproto3.Execute:
		return s.execute(*m)
	case *pgproto3.Close:
		return s.closeObject(*m)
	case *pgproto3.Sync:
		s.stats.roundTrips.Add(1)
		s.d.roundTrips.Add(1)
		if err := s.sync(); err != nil {
			return err
		}
		return s.flush()
	case *pgproto3.Flush:
		s.stats.roundTrips.Add(1)
		s.d.roundTrips.Add(1)
		return s.flush()
	case *pgproto3.Terminate:
		return errFatal
	default:
		e := sqlError("08P01", "the DSQL test double does not handle %T", m)
		e.Severity, e.SeverityUnlocalized = "FATAL", "FATAL"
		s.out = append(s.out, e)
		_ = s.flush()
		return errFatal
	}
}

// flush waits the round trip's delay, then sends what was answered.
func (s *session) flush() error {
	if s.cut {
		return nil
	}
	if d := s.d.delay(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return s.ctx.Err()
		}
	}
	for _, m := range s.out {
		s.be.Send(m)
	}
	s.out = s.out[:0]
	return s.be.Flush()
}

// ready is the ReadyForQuery for the current state.
func (s *session) ready() *pgproto3.ReadyForQuery {
	switch {
	case !s.tx.explicit:
		return &pgproto3.ReadyForQuery{TxStatus: 'I'}
	case s.tx.failed:
		return &pgproto3.ReadyForQuery{TxStatus: 'E'}
	}
	return &pgproto3.ReadyForQuery{TxStatus: 'T'}
}

// fail answers the current statement with e and fails what it was part of:
// the rest of the pipeline (extended protocol) or query (simple), and the
// transaction.
func (s *session) fail(e *pgproto3.ErrorResponse) {
	s.out = append(s.out, e)
	s.failed()
}

// failed marks the current statement as failed, its error already answered.
func (s *session) failed() {
	s.errored = true
	if !s.simple {
		s.skip = true
	}
	if s.tx.explicit || s.tx.upOpen {
		s.tx.failed = true
	}
}

// simpleQuery answers a Query: each statement in turn, stopping at the
// first error, all of it one implicit transaction unless it holds its own
// BEGIN and COMMIT.
func (s *session) simpleQuery(sql string) error {
	s.simple = true
	defer func() { s.simple = false }()
	stmts := splitStatements(sql)
	if len(stmts) == 0 {
		s.out = append(s.out, &pgproto3.EmptyQueryResponse{})
		return nil
	}
	start := len(s.out)
	for _, st := range stmts {
		s.errored = false
		info := classify(st)
		if err := s.run(info, nil, func() (result, error) { return s.up.query(st) }); err != nil {
			return err
		}
		if s.errored || s.cut {
			break
		}
	}
	return s.endImplicit(start)
}

// endImplicit ends an implicit transaction: committed through the same
// checks as COMMIT (a conflict replaces the last statement's completion,
// as PostgreSQL reports an implicit commit's failure), or rolled back after
// an error.
func (s *session) endImplicit(start int) error {
	if s.tx.explicit {
		return nil
	}
	if !s.tx.upOpen {
		s.tx = txn{}
		return nil
	}
	failed := s.tx.failed
	_, e, err := s.finish(!failed)
	if err != nil {
		return err
	}
	if e != nil && !failed {
		for i := len(s.out) - 1; i >= start; i-- {
			if _, ok := s.out[i].(*pgproto3.CommandComplete); ok && s.simple {
				s.out[i] = e
				return nil
			}
		}
		s.out = append(s.out, e)
	}
	return nil
}

func (s *session) parse(m *pgproto3.Parse) error {
	if s.skip {
		return nil
	}
	s.errored = false
	info := classify(m.Query)
	if s.tx.failed && info.kind != kCommit && info.kind != kRollback {
		s.fail(inFailedTxn())
		return nil
	}
	if info.refuse != nil {
		s.fail(info.refuse)
		return nil
	}
	p := &prepared{name: m.Name, info: info, oids: m.ParameterOIDs}
	if info.kind.virtual() {
		if info.kind == kWaitForJob && info.jobArg.param > 0 && len(p.oids) < info.jobArg.param {
			oids := make([]uint32, info.jobArg.param)
			copy(oids, p.oids)
			for i := len(p.oids); i < len(oids); i++ {
				oids[i] = 25 // text
			}
			p.oids = oids
		}
		s.stmts[m.Name] = p
		s.out = append(s.out, &pgproto3.ParseComplete{})
		return nil
	}
	r, err := s.up.roundTrip(m)
	if err != nil {
		return err
	}
	s.out = append(s.out, r.msgs...)
	if r.err != nil {
		s.failed()
		return nil
	}
	s.stmts[m.Name] = p
	return nil
}

func (s *session) bind(m *pgproto3.Bind) error {
	if s.skip {
		return nil
	}
	s.errored = false
	p := s.stmts[m.PreparedStatement]
	if p == nil {
		s.fail(sqlError("26000", "prepared statement %q does not exist", m.PreparedStatement))
		return nil
	}
	if s.tx.failed && p.info.kind != kCommit && p.info.kind != kRollback {
		s.fail(inFailedTxn())
		return nil
	}
	if !p.info.kind.virtual() {
		if err := s.openUpstream(); err != nil {
			return err
		}
		// PostgreSQL takes a SELECT's snapshot at Bind, not at Execute: the
		// transaction's start (a lower bound of its snapshot) is now.
		s.markStarted()
		r, err := s.up.roundTrip(m)
		if err != nil {
			return err
		}
		s.out = append(s.out, r.msgs...)
		if r.err != nil {
			s.failed()
			return nil
		}
	} else {
		s.out = append(s.out, &pgproto3.BindComplete{})
	}
	s.portals[m.DestinationPortal] = &portal{stmt: p, bind: m}
	return nil
}

// jobIDField describes CREATE INDEX ASYNC's one column (golden
// index.json:create_index_async: columns [job_id]).
func jobIDField(format int16) pgproto3.FieldDescription {
	return pgproto3.FieldDescription{Name: []byte("job_id"), DataTypeOID: 25, DataTypeSize: -1, TypeModifier: -1, Format: format}
}

func (s *session) describe(m pgproto3.Describe) error {
	if s.skip {
		return nil
	}
	var info *stmtInfo
	var p *prepared
	format := int16(0)
	if m.ObjectType == 'S' {
		if p = s.stmts[m.Name]; p == nil {
			s.fail(sqlError("26000", "prepared statement %q does not exist", m.Name))
			return nil
		}
		info = p.info
	} else {
		pt := s.portals[m.Name]
		if pt == nil {
			s.fail(sqlError("34000", "portal %q does not exist", m.Name))
			return nil
		}
		info = pt.stmt.info
		if len(pt.bind.ResultFormatCodes) > 0 {
			format = pt.bind.ResultFormatCodes[0]
		}
	}
	if info.kind.virtual() {
		if m.ObjectType == 'S' {
			s.out = append(s.out, &pgproto3.ParameterDescription{ParameterOIDs: p.oids})
		}
		if info.kind == kIndexAsync {
			s.out = append(s.out, &pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{jobIDField(format)}})
		} else {
			s.out = append(s.out, &pgproto3.NoData{})
		}
		return nil
	}
	r, err := s.up.roundTrip(&m)
	if err != nil {
		return err
	}
	s.out = append(s.out, r.msgs...)
	if r.err != nil {
		s.failed()
		return nil
	}
	if p != nil {
		for _, msg := range r.msgs {
			if pd, ok := msg.(*pgproto3.ParameterDescription); ok {
				p.oids = append([]uint32(nil), pd.ParameterOIDs...)
			}
		}
	}
	return nil
}

func (s *session) execute(m pgproto3.Execute) error {
	if s.skip {
		return nil
	}
	s.errored = false
	pt := s.portals[m.Portal]
	if pt == nil {
		s.fail(sqlError("34000", "portal %q does not exist", m.Portal))
		return nil
	}
	return s.run(pt.stmt.info, pt, func() (result, error) { return s.up.roundTrip(&m) })
}

func (s *session) closeObject(m pgproto3.Close) error {
	if s.skip {
		return nil
	}
	virtual := false
	if m.ObjectType == 'S' {
		if p := s.stmts[m.Name]; p != nil {
			virtual = p.info.kind.virtual()
		}
		delete(s.stmts, m.Name)
	} else {
		if pt := s.portals[m.Name]; pt != nil {
			virtual = pt.stmt.info.kind.virtual()
		}
		delete(s.portals, m.Name)
	}
	if virtual {
		s.out = append(s.out, &pgproto3.CloseComplete{})
		return nil
	}
	r, err := s.up.roundTrip(&m)
	if err != nil {
		return err
	}
	s.out = append(s.out, r.msgs...)
	if r.err != nil {
		s.failed()
	}
	return nil
}

// sync ends an extended-protocol pipeline: an implicit transaction ends
// here, and ReadyForQuery follows.
func (s *session) sync() error {
	s.skip = false
	if err := s.endImplicit(len(s.out)); err != nil {
		return err
	}
	if !s.tx.explicit {
		clear(s.portals) // portals live until the end of their transaction
	}
	s.out = append(s.out, s.ready())
	return nil
}

// cloneBind copies a Bind the Backend will overwrite on its next Receive.
func cloneBind(m *pgproto3.Bind) *pgproto3.Bind {
	c := &pgproto3.Bind{
		DestinationPortal:    m.DestinationPortal,
		PreparedStatement:    m.PreparedStatement,
		ParameterFormatCodes: append([]int16(nil), m.ParameterFormatCodes...),
		ResultFormatCodes:    append([]int16(nil), m.ResultFormatCodes...),
	}
	for _, p := range m.Parameters {
		if p == nil {
			c.Parameters = append(c.Parameters, nil)
		} else {
			c.Parameters = append(c.Parameters, append([]byte{}, p...))
		}
	}
	return c
}
