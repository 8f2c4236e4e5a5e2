package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"hotrow/internal/childproc"
	"hotrow/internal/testpg"
	"hotrow/server/loadtest"
)

// The load test under faults: each run injects its fault while the bidders
// bid, the clients reconnect and re-join with since and resend what got no
// final answer with the same id, and every invariant is checked afterwards
// (nothing acknowledged lost, one winner, gapless identical histories).

// faultLoad runs the load test with reconnection on urls and calls fault
// once bids are being accepted; it fails the test on any violation.
func faultLoad(t *testing.T, urls []string, fault func() error) *loadtest.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	progress := &logWriter{t: t}
	started := make(chan struct{})
	cfg := loadtest.Config{URLs: urls, Bidders: 60, BidsPerBidder: 3, AuctionFor: 12 * time.Second,
		Timeout: 2 * time.Minute, Progress: progress, Seed: 11, Reconnect: true,
		OnAccepted: func(n int) {
			if n == 20 {
				close(started)
			}
		}}
	type result struct {
		rep *loadtest.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := loadtest.Run(ctx, cfg)
		done <- result{rep, err}
	}()
	var faultErr error
	select {
	case <-started:
		faultErr = fault()
	case r := <-done:
		t.Fatalf("the load test ended before 20 bids were accepted: %v", r.err)
	}
	r := <-done
	if faultErr != nil {
		t.Fatalf("injecting the fault: %v", faultErr)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.rep.Print(progress)
	for _, c := range r.rep.Failed() {
		t.Errorf("invariant violated: %s: %s", c.Name, c.Detail)
	}
	if r.rep.Accepted < 20 {
		t.Fatalf("only %d bids accepted", r.rep.Accepted)
	}
	return r.rep
}

// PostgreSQL restarts (fast shutdown, every connection cut) in the middle
// of the bidding, twice.
func TestFaultPostgresRestart(t *testing.T) {
	pg := testpg.Private(t)
	h := startHub(t, pgStore(t, pg.DSN()), "pg-restart")
	faultLoad(t, []string{h.url}, func() error {
		for range 2 {
			if err := pg.Restart(); err != nil {
				return err
			}
			time.Sleep(500 * time.Millisecond)
		}
		return nil
	})
}

// Every backend of the hub is terminated (57P01), again and again, in the
// middle of the bidding: a transaction whose connection dies before COMMIT
// is retried on a new one, so no bid is even answered unavailable.
func TestFaultBackendsTerminated(t *testing.T) {
	pg := testpg.Private(t)
	h := startHub(t, pgStore(t, pg.DSN()), "pg-kill")
	total := 0
	rep := faultLoad(t, []string{h.url}, func() error {
		for range 6 {
			n, err := pg.TerminateBackends()
			if err != nil {
				return err
			}
			total += n
			time.Sleep(300 * time.Millisecond)
		}
		return nil
	})
	if total == 0 {
		t.Fatal("no backend was terminated: the fault did not happen")
	}
	retried := counterSum(t, h.app, "hotrow_txn_conflicts_total")
	t.Logf("%d backends terminated; %v attempts retried; %d bids answered unavailable", total, retried, rep.Unavailable)
	if rep.Unavailable != 0 {
		t.Fatalf("%d bids were answered unavailable: a terminated backend must be retried", rep.Unavailable)
	}
}

// The hub is SIGKILLed in the middle of the bidding and started again on
// the same address: its clients reconnect and re-join with since, and bids
// that were in flight are resent with their ids.
func TestFaultHubKilled(t *testing.T) {
	pg := testpg.Private(t)
	pgStore(t, pg.DSN()) // migrate
	addr := freeAddr(t)
	hub := startHubProcess(t, addr, pg.DSN())
	rep := faultLoad(t, []string{"http://" + addr}, func() error {
		hub.kill()
		hub = startHubProcess(t, addr, pg.DSN())
		return nil
	})
	if rep.Reconnects == 0 {
		t.Fatal("no socket reconnected: the hub was not killed under them")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// hubProcess is a hub running as a process of its own: this test binary,
// re-executed as `hotrow serve` (runMainEnv, see TestMain).
type hubProcess struct {
	cmd  *exec.Cmd
	proc *childproc.Process
}

// startHubProcess starts a hub on addr over dsn and waits until it is
// ready; it is killed when the test ends.
func startHubProcess(t *testing.T, addr, dsn string) *hubProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "HOTROW_ADDR="+addr, "DATABASE_URL="+dsn,
		"HOTROW_HUB_ID=killable", "HOTROW_LOG_LEVEL=warn", "HOTROW_POLL_INTERVAL=50ms",
		"HOTROW_WS_CONN_RATE=0", "HOTROW_MAX_CONNS_PER_ADDR=0", "HOTROW_HTTP_RATE=0", "HOTROW_HTTP_WRITE_RATE=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	proc, err := childproc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	h := &hubProcess{cmd: cmd, proc: proc}
	t.Cleanup(h.kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		select {
		case <-proc.Exited:
			t.Fatalf("the hub process exited: %v", proc.Err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub on %s was not ready after 60s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill SIGKILLs the hub: no drain, no goodbye.
func (h *hubProcess) kill() {
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.proc.Exited
}
