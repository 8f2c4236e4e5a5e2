package dsqldouble

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// upstream is one session's connection to the PostgreSQL behind the
// double. The double speaks to it message by message, each followed by a
// Sync, inside an explicit transaction it opened itself, so that it can
// look at every answer before the client does.
//
// The double's own statements (BEGIN, COMMIT, savepoints, rewritten
// queries) go through named statements and a named portal, never the
// unnamed ones or a simple Query, which would destroy the client's unnamed
// statement and portal.
type upstream struct {
	conn   net.Conn
	fe     *pgproto3.Frontend
	pid    uint32
	secret []byte
	params map[string]string

	stmts map[string]string // key of an internal statement -> its name
	n     int
}

const internalPortal = "dsqldouble_p"

func dialUpstream(ctx context.Context, cfg *pgconn.Config, appName string) (*upstream, error) {
	cfg = cfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	// DSQL is snapshot isolation, PostgreSQL's REPEATABLE READ, in UTC
	// (golden environment.json:env_timezone).
	cfg.RuntimeParams["default_transaction_isolation"] = "repeatable read"
	cfg.RuntimeParams["TimeZone"] = "UTC"
	cfg.RuntimeParams["application_name"] = appName
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	hj, err := pc.Hijack()
	if err != nil {
		return nil, err
	}
	return &upstream{conn: hj.Conn, fe: hj.Frontend, pid: hj.PID, secret: hj.SecretKey,
		params: hj.ParameterStatuses, stmts: map[string]string{}}, nil
}

// result is PostgreSQL's answer to one request, up to ReadyForQuery.
type result struct {
	msgs   []pgproto3.BackendMessage // copies, ReadyForQuery excluded
	err    *pgproto3.ErrorResponse   // the error among msgs, if any
	status byte                      // ReadyForQuery's transaction status
}

// tag is the last CommandComplete's tag.
func (r result) tag() string {
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if cc, ok := r.msgs[i].(*pgproto3.CommandComplete); ok {
			return string(cc.CommandTag)
		}
	}
	return ""
}

// roundTrip sends msgs and a Sync and reads the answer.
func (u *upstream) roundTrip(msgs ...pgproto3.FrontendMessage) (result, error) {
	for _, m := range msgs {
		u.fe.Send(m)
	}
	u.fe.Send(&pgproto3.Sync{})
	return u.read()
}

// query sends one simple query and reads the answer.
func (u *upstream) query(sql string) (result, error) {
	u.fe.Send(&pgproto3.Query{String: sql})
	return u.read()
}

func (u *upstream) read() (result, error) {
	var r result
	if err := u.fe.Flush(); err != nil {
		return r, fmt.Errorf("upstream: %w", err)
	}
	for {
		m, err := u.fe.Receive()
		if err != nil {
			return r, fmt.Errorf("upstream: %w", err)
		}
		switch m := m.(type) {
		case *pgproto3.ReadyForQuery:
			r.status = m.TxStatus
			return r, nil
		case *pgproto3.CopyInResponse:
			u.fe.Send(&pgproto3.CopyFail{Message: "COPY FROM STDIN is not supported by the DSQL test double"})
			if err := u.fe.Flush(); err != nil {
				return r, fmt.Errorf("upstream: %w", err)
			}
		case *pgproto3.ErrorResponse:
			c := cloneBackend(m).(*pgproto3.ErrorResponse)
			if r.err == nil {
				r.err = c
			}
			r.msgs = append(r.msgs, c)
		default:
			r.msgs = append(r.msgs, cloneBackend(m))
		}
	}
}

// internal describes one of the double's own statements.
type internal struct {
	sql           string
	oids          []uint32
	params        [][]byte
	paramFormats  []int16
	resultFormats []int16
	describe      bool // ask for the RowDescription too
}

// exec runs the double's own statements, in order, in one round trip; the
// first error stops the rest.
func (u *upstream) exec(stmts ...internal) (result, error) {
	var msgs []pgproto3.FrontendMessage
	var parsed []string
	for _, st := range stmts {
		key := st.sql + "\x00" + oidsKey(st.oids)
		name, ok := u.stmts[key]
		if !ok {
			name = "dsqldouble_" + strconv.Itoa(u.n)
			u.n++
			msgs = append(msgs, &pgproto3.Parse{Name: name, Query: st.sql, ParameterOIDs: st.oids})
			parsed = append(parsed, key)
			u.stmts[key] = name
		}
		msgs = append(msgs,
			&pgproto3.Close{ObjectType: 'P', Name: internalPortal},
			&pgproto3.Bind{DestinationPortal: internalPortal, PreparedStatement: name,
				ParameterFormatCodes: st.paramFormats, Parameters: st.params, ResultFormatCodes: st.resultFormats})
		if st.describe {
			msgs = append(msgs, &pgproto3.Describe{ObjectType: 'P', Name: internalPortal})
		}
		msgs = append(msgs, &pgproto3.Execute{Portal: internalPortal}, &pgproto3.Close{ObjectType: 'P', Name: internalPortal})
	}
	r, err := u.roundTrip(msgs...)
	if err != nil {
		return r, err
	}
	if r.err != nil {
		// Forget statements whose Parse may not have happened; a name is
		// never reused, so parsing again later is harmless.
		for _, key := range parsed {
			delete(u.stmts, key)
		}
	}
	// Keep only what the caller asked about: rows, descriptions, tags,
	// notices and errors, not the protocol's acknowledgements.
	kept := r.msgs[:0]
	for _, m := range r.msgs {
		switch m.(type) {
		case *pgproto3.ParseComplete, *pgproto3.BindComplete, *pgproto3.CloseComplete:
			continue
		}
		kept = append(kept, m)
	}
	r.msgs = kept
	return r, nil
}

// execSQL runs parameterless statements of the double's own.
func (u *upstream) execSQL(sqls ...string) (result, error) {
	st := make([]internal, len(sqls))
	for i, s := range sqls {
		st[i] = internal{sql: s}
	}
	return u.exec(st...)
}

func oidsKey(oids []uint32) string {
	var b strings.Builder
	for _, o := range oids {
		b.WriteString(strconv.FormatUint(uint64(o), 10))
		b.WriteByte(',')
	}
	return b.String()
}

func (u *upstream) close() {
	u.fe.Send(&pgproto3.Terminate{})
	_ = u.fe.Flush()
	_ = u.conn.Close()
}

// cloneBackend copies a message the Frontend will overwrite on its next
// Receive.
func cloneBackend(m pgproto3.BackendMessage) pgproto3.BackendMessage {
	buf, err := m.Encode(nil)
	if err != nil {
		return m
	}
	var c pgproto3.BackendMessage
	switch m.(type) {
	case *pgproto3.DataRow:
		c = &pgproto3.DataRow{}
	case *pgproto3.RowDescription:
		c = &pgproto3.RowDescription{}
	case *pgproto3.CommandComplete:
		c = &pgproto3.CommandComplete{}
	case *pgproto3.ErrorResponse:
		c = &pgproto3.ErrorResponse{}
	case *pgproto3.NoticeResponse:
		c = &pgproto3.NoticeResponse{}
	case *pgproto3.ParameterDescription:
		c = &pgproto3.ParameterDescription{}
	case *pgproto3.ParameterStatus:
		c = &pgproto3.ParameterStatus{}
	case *pgproto3.CopyOutResponse:
		c = &pgproto3.CopyOutResponse{}
	case *pgproto3.CopyData:
		c = &pgproto3.CopyData{}
	case *pgproto3.NotificationResponse:
		c = &pgproto3.NotificationResponse{}
	case *pgproto3.ParseComplete:
		return &pgproto3.ParseComplete{}
	case *pgproto3.BindComplete:
		return &pgproto3.BindComplete{}
	case *pgproto3.CloseComplete:
		return &pgproto3.CloseComplete{}
	case *pgproto3.NoData:
		return &pgproto3.NoData{}
	case *pgproto3.EmptyQueryResponse:
		return &pgproto3.EmptyQueryResponse{}
	case *pgproto3.PortalSuspended:
		return &pgproto3.PortalSuspended{}
	case *pgproto3.CopyDone:
		return &pgproto3.CopyDone{}
	default:
		return m
	}
	if err := c.Decode(buf[5:]); err != nil {
		return m
	}
	return c
}
