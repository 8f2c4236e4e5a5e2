package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"hotrow/internal/clock"
	"hotrow/internal/testpg"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
)

// commitCutter is a loopback TCP proxy in front of PostgreSQL. Once armed,
// it forwards the next COMMIT, lets the server execute it, swallows the
// answer and cuts the connection: the client cannot know the outcome. It
// follows the client's messages (commits reads them), so that it finds the
// COMMIT whether it is a simple query or a prepared statement executed in
// a pipeline.
type commitCutter struct {
	ln      net.Listener
	target  string
	armed   atomic.Bool
	cut     atomic.Int32
	wg      sync.WaitGroup
	closing atomic.Bool
}

func newCommitCutter(t *testing.T, target string) *commitCutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitCutter{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() { p.closing.Store(true); ln.Close(); p.wg.Wait() })
	return p
}

func (p *commitCutter) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.relay(c) }()
	}
}

func (p *commitCutter) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	var commitSent atomic.Bool
	done := make(chan struct{}, 2)
	go func() { // client → server
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		msgs := &frontendMessages{stmts: map[string]bool{}}
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if msgs.commits(buf[:n]) && p.armed.CompareAndSwap(true, false) {
					commitSent.Store(true)
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // server → client
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && commitSent.Load() {
				// The server has answered the COMMIT: drop it and the line.
				p.cut.Add(1)
				client.Close()
				server.Close()
				return
			}
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	<-done
}

// A connection lost during COMMIT leaves the outcome unknown; the retry
// resolves it through the bid's idempotency key on a real PostgreSQL: one
// bid row, one ack with the version it committed as.
func TestCommitLostOnRealPostgres(t *testing.T) {
	dsn := testpg.DSN(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cutter := newCommitCutter(t, net.JoinHostPort(cfg.ConnConfig.Host, itoa(cfg.ConnConfig.Port)))
	host, port, _ := net.SplitHostPort(cutter.ln.Addr().String())
	proxied := strings.Replace(dsn, net.JoinHostPort(cfg.ConnConfig.Host, itoa(cfg.ConnConfig.Port)), net.JoinHostPort(host, port), 1)
	ctx := context.Background()
	s, err := Open(ctx, proxied)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	runner := &txn.Runner{Metrics: txn.NewMetrics(reg)}
	deps := rooms.Deps{Runner: runner, Clock: clock.Real{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := auction.NewService(s.Auctions(), deps).Create(ctx, auction.CreateRequest{ID: "cut", Title: "Cut",
		StartingPrice: "5.00", Increment: "1.00"}, "t"); err != nil {
		t.Fatal(err)
	}
	en := auction.RoomKind(s.Auctions(), deps).New("cut")
	if _, err := en.Load(ctx); err != nil {
		t.Fatal(err)
	}

	cutter.armed.Store(true)
	amount, _ := json.Marshal("5.00")
	out := en.Apply(ctx, &rooms.Mutation{Op: "bid", ID: "b1", User: "ann", Payload: amount})
	if cutter.cut.Load() != 1 {
		t.Fatalf("the proxy cut %d COMMITs, want 1", cutter.cut.Load())
	}
	if out.Reject != nil || out.Version != 2 {
		t.Fatalf("after a lost COMMIT: %+v %+v, want ack version 2", out, out.Reject)
	}
	bids, err := s.Auctions().Bids(ctx, "cut")
	if err != nil || len(bids) != 1 || bids[0].MsgID != "b1" {
		t.Fatalf("bids = %+v (%v), want exactly b1", bids, err)
	}
	unknown := 0.0
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "hotrow_txn_conflicts_total" {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "code" && l.GetValue() == txn.CodeCommitUnknown {
						unknown += m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	if unknown != 1 {
		t.Fatalf("commit_unknown retries counted = %v, want 1", unknown)
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// frontendMessages follows a client's side of the PostgreSQL protocol
// (startup, then messages of a type byte and a length) and finds the
// COMMITs it executes: a simple Query "commit", or a Bind of a statement
// prepared as "commit".
type frontendMessages struct {
	buf     []byte
	started bool            // past the startup message
	stmts   map[string]bool // prepared statements that are a COMMIT
}

// commits takes the next bytes the client sent and reports whether they
// execute a COMMIT.
func (f *frontendMessages) commits(b []byte) bool {
	f.buf = append(f.buf, b...)
	found := false
	for {
		if !f.started {
			if len(f.buf) < 8 {
				return found
			}
			n := int(binary.BigEndian.Uint32(f.buf))
			if len(f.buf) < n {
				return found
			}
			// An SSLRequest or GSSENCRequest comes before the startup
			// message; the server refuses both here (sslmode=disable).
			code := binary.BigEndian.Uint32(f.buf[4:])
			f.started = code != 80877103 && code != 80877104
			f.buf = f.buf[n:]
			continue
		}
		if len(f.buf) < 5 {
			return found
		}
		n := 1 + int(binary.BigEndian.Uint32(f.buf[1:]))
		if len(f.buf) < n {
			return found
		}
		typ, body := f.buf[0], f.buf[5:n]
		fields := bytes.Split(body, []byte{0})
		isCommit := func(sql []byte) bool { return strings.EqualFold(strings.TrimSpace(string(sql)), "commit") }
		switch {
		case typ == 'Q' && len(fields) > 0:
			found = found || isCommit(fields[0])
		case typ == 'P' && len(fields) > 1:
			f.stmts[string(fields[0])] = isCommit(fields[1])
		case typ == 'B' && len(fields) > 1:
			found = found || f.stmts[string(fields[1])]
		}
		f.buf = f.buf[n:]
	}
}
