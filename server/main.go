// Command hotrow is the real-time WebSocket hub: live auctions and
// collaborative schema documents, each message committed in its own retried
// transaction and broadcast to its room.
//
//	hotrow [serve] [flags]   run the hub (the default)
//	hotrow migrate [flags]   apply the database migrations and exit
//	hotrow compact [flags]   store idempotency summaries, delete old events
//	hotrow loadtest [flags]  bid from many sockets and check the invariants
//	hotrow bench [flags]     fan-out and commit rate side by side with Centrifugo (make bench)
//	hotrow cursors create-table [flags]  create the DynamoDB cursor table
//	hotrow version           print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"hotrow/internal/clock"
	"hotrow/server/bench"
	"hotrow/server/loadtest"
	"hotrow/txn/pgstore"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args, stderr)
	case "migrate":
		err = migrate(args, stderr)
	case "compact":
		err = compact(args, stdout, stderr)
	case "cursors":
		err = cursorsCommand(args, stdout, stderr)
	case "loadtest":
		err = loadtest.Main(args, stdout, stderr)
	case "bench":
		err = bench.Main(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "hotrow", version)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: hotrow [serve|migrate|compact|loadtest|bench|cursors create-table|version] [flags]; hotrow CMD -h for the flags")
	default:
		fmt.Fprintf(stderr, "hotrow: unknown command %q (want serve, migrate, compact, loadtest, bench, cursors or version)\n", cmd)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, loadtest.ErrViolations):
		return 1
	default:
		fmt.Fprintln(stderr, "hotrow:", err)
		return 1
	}
}

func newLogger(c config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("HOTROW_LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("HOTROW_LOG_FORMAT=%q: want text or json", c.LogFormat)
}

func serve(args []string, stderr io.Writer) error {
	cfg, err := parseServeConfig("serve", args)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	setMemoryLimit(log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := openStore(openCtx, cfg, log, clock.Real{})
	if err != nil {
		cancel()
		return err
	}
	defer st.Close()
	cs, err := openCursorStore(openCtx, cfg, log)
	cancel()
	if err != nil {
		return err
	}
	a, err := newApp(cfg, st, cs, log, clock.Real{})
	if err != nil {
		return err
	}

	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	// No TCP keep-alive probes: a socket's peer is checked by the hub's own
	// WebSocket pings (-ping-interval), and an idle HTTP connection is closed
	// after -http-idle-timeout. Go would otherwise set four socket options
	// on every accepted connection, a tenth of the system calls a join
	// storm costs the hub.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	srv := newHTTPServer(cfg, a.handler, log)
	errc := make(chan error, 1)
	// Sockets are answered at the listener, before net/http (hub.Listener).
	go func() { errc <- srv.Serve(a.hub.Listener(ln, "/ws", srv.ReadHeaderTimeout)) }()
	log.Info("hotrow listening", "addr", ln.Addr().String(), "hub", cfg.HubID, "version", version,
		"ui", "http://"+displayAddr(ln.Addr()))

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	stop()
	log.Info("shutting down: draining rooms and sockets", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	derr := a.shutdown(sctx)
	herr := srv.Shutdown(sctx)
	if err := errors.Join(derr, herr); err != nil {
		log.Warn("shutdown did not finish cleanly", "err", err)
		return nil
	}
	log.Info("shut down cleanly")
	return nil
}

func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "localhost:" + strings.TrimPrefix(s, "[::]:")
	}
	if strings.HasPrefix(s, "0.0.0.0:") {
		return "localhost:" + strings.TrimPrefix(s, "0.0.0.0:")
	}
	return s
}

func migrate(args []string, stderr io.Writer) error {
	cfg, err := parseServeConfig("migrate", args)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" && cfg.DSQLEndpoint == "" {
		return errors.New("migrate needs DATABASE_URL or DSQL_ENDPOINT: the embedded store has no schema")
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	cfg.Migrate = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, err := openStore(ctx, cfg, log, clock.Real{})
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("migrations complete", "store", st.Name(), "count", len(pgstore.Migrations))
	return nil
}
