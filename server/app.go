package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotrow/hub"
	"hotrow/hub/auth"
	"hotrow/internal/clientaddr"
	"hotrow/internal/clock"
	"hotrow/internal/randid"
	"hotrow/internal/ratelimit"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/rooms/bus/natsbus"
	"hotrow/rooms/cursors"
	"hotrow/rooms/schema"
	"hotrow/txn"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app is one hub process: the store, the rooms, the sockets and the HTTP
// routes, wired together.
type app struct {
	cfg     config
	log     *slog.Logger
	clock   clock.Clock
	store   store
	metrics *prometheus.Registry
	runner  *txn.Runner
	rooms   *rooms.Registry
	hub     *hub.Hub
	cursors *cursors.Service
	bus     *natsbus.Bus // nil without NATS_URL
	handler http.Handler

	ready   atomic.Bool
	stopBg  context.CancelFunc
	bgDone  chan struct{}
	stopped atomic.Bool
}

func newApp(cfg config, st store, cs cursors.Store, log *slog.Logger, clk clock.Clock) (*app, error) {
	a := &app{cfg: cfg, log: log, clock: clk, store: st, metrics: prometheus.NewRegistry()}
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	policy := txn.DefaultPolicy()
	policy.MaxAttempts = cfg.MaxAttempts
	a.runner = &txn.Runner{Policy: policy, Metrics: txn.NewMetrics(a.metrics), Clock: clk, Log: log}

	deps := rooms.Deps{Runner: a.runner, Clock: clk, Logger: log, IDs: rooms.IDConfig{Window: int64(cfg.IDWindow)}}.WithDefaults()
	kinds, err := makeKinds(st, deps)
	if err != nil {
		return nil, err
	}
	if cfg.NATS.URL != "" {
		a.bus, err = natsbus.Connect(natsbus.Config{URL: cfg.NATS.URL, Name: cfg.HubID, SubjectPrefix: cfg.NATS.SubjectPrefix,
			CredsFile: cfg.NATS.CredsFile, NKeyFile: cfg.NATS.NKeyFile, User: cfg.NATS.User, Password: cfg.NATS.Password,
			Token: cfg.NATS.Token, TLSCAFile: cfg.NATS.TLSCAFile, TLSCertFile: cfg.NATS.TLSCertFile, TLSKeyFile: cfg.NATS.TLSKeyFile,
			Logger: log, Registerer: a.metrics})
		if err != nil {
			return nil, fmt.Errorf("configuring the NATS bus (NATS_URL): %w", err)
		}
	} else {
		log.Info("bus: none (one hub, or hubs that learn each other's commits by polling; set NATS_URL for NATS)")
	}
	rcfg := rooms.Config{PollInterval: cfg.PollInterval, BusPollInterval: cfg.BusPollInterval,
		MaxReplay: int64(cfg.MaxReplay), Clock: clk, Logger: log}
	ccfg := cursors.Config{HubID: cfg.HubID, Tick: cfg.CursorTick, TTL: cfg.CursorTTL,
		WriteInterval: cfg.CursorWriteInterval, PollInterval: cfg.CursorPollInterval, Clock: clk, Logger: log}
	if a.bus != nil {
		rcfg.Bus, ccfg.Bus = a.bus, a.bus
	}
	a.rooms = rooms.NewRegistry(kinds, st, a.metrics, rcfg)

	verifier, err := newVerifier(cfg, kinds, clk)
	if err != nil {
		return nil, err
	}
	if !verifier.Enabled() {
		log.Warn("development mode: no token secret, so every socket (?user=NAME) and every API request is trusted with every right, /debug/ included; set HOTROW_TOKEN_SECRET in production",
			"reserved_names", strings.Join(auth.Reserved, ","))
	}
	trusted, err := clientaddr.ParseTrusted(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("HOTROW_TRUSTED_PROXIES: %w", err)
	}
	clientAddr := clientaddr.Resolver{Trusted: trusted}.Addr
	var origins []string
	for _, o := range strings.Split(cfg.AllowOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	// An auction's watchers share no cursors: the room shows a count.
	// Schema documents list up to cursors.DefaultListed collaborators.
	ccfg.Listed = map[string]int{auction.Kind: 0}
	a.cursors = cursors.New(cs, a.metrics, ccfg)
	a.hub = hub.New(a.rooms, a.metrics, hub.Config{HubID: cfg.HubID, Server: "hotrow/" + version,
		Auth: verifier, AllowOrigins: origins, Clock: clk, Logger: log, Cursors: a.cursors,
		RateLimit: offIfZero(cfg.WSMsgRate), RateBurst: float64(cfg.WSMsgBurst),
		ConnRate: offIfZero(cfg.WSConnRate), ConnBurst: cfg.WSConnBurst,
		MaxConns: noCapIfZero(cfg.MaxConns), MaxConnsPerAddr: noCapIfZero(cfg.MaxConnsPerAddr), ClientAddr: clientAddr,
		PingInterval: cfg.PingInterval, PongWait: cfg.PongWait, Writers: cfg.WSWriters})

	rt := newRoutes(&guard{auth: verifier}, csrf{allowOrigins: origins}, httpLimits{
		reads:  ratelimit.New(cfg.HTTPRate, cfg.HTTPBurst),
		writes: ratelimit.New(cfg.HTTPWriteRate, cfg.HTTPWriteBurst),
		addr:   clientAddr, clock: clk})
	rt.plain("GET", "/ws", a.hub)
	rt.plain("GET", "/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	rt.plain("GET", "/readyz", http.HandlerFunc(a.readyz))
	rt.plain("GET", "/metrics", promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{Registry: a.metrics}))
	(&auctionAPI{svc: auction.NewService(st.Auctions(), deps), rooms: a.rooms, clock: clk, log: log}).register(rt)
	(&schemaAPI{svc: schema.NewService(st.Schemas(), deps), log: log}).register(rt)
	registerDebug(rt, a.rooms)
	a.handler = a.registerPages(rt)

	ctx, cancel := context.WithCancel(context.Background())
	a.stopBg, a.bgDone = cancel, make(chan struct{})
	go func() { defer close(a.bgDone); a.rooms.Run(ctx) }()
	a.ready.Store(true)
	a.metrics.MustRegister(newReadinessCollector(&a.ready, st.Ping, readyzPingTimeout))
	return a, nil
}

// readyzPingTimeout bounds the store ping of /readyz and of each scrape.
const readyzPingTimeout = 2 * time.Second

// readyz is 200 while the hub takes sockets and the store answers. It
// reports the bus too, but a bus that is down does not make the hub unready:
// rooms stay correct by polling, only later (DESIGN decision 10).
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	if !a.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyzPingTimeout)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unreachable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "store": a.store.Name(), "bus": a.busStatus()})
}

// busStatus says what /readyz reports of the bus.
func (a *app) busStatus() string {
	if a.bus == nil {
		return "none"
	}
	if a.bus.Up() {
		return "nats: " + a.bus.Status()
	}
	return fmt.Sprintf("nats: %s; polling every %s meanwhile", a.bus.Status(), a.cfg.PollInterval)
}

// shutdown drains the hub: readiness goes false, no new sockets, the
// transactions under way finish (queued messages are answered unavailable:
// safe to resend), then every socket closes with 1012 after its queued
// frames are written. It returns when done or when ctx ends.
func (a *app) shutdown(ctx context.Context) error {
	if a.stopped.Swap(true) {
		return nil
	}
	a.ready.Store(false)
	a.hub.Drain()
	err := a.rooms.Drain(ctx)
	a.hub.CloseAll(ctx)
	// Delete this hub's cursors so other hubs show its users gone now,
	// not when their TTL passes.
	err = errors.Join(err, a.cursors.Close(ctx))
	a.stopBg()
	<-a.bgDone
	if a.bus != nil {
		a.bus.Close()
	}
	return err
}

func randomSuffix() string { return randid.New(6) }

// newVerifier checks tokens with the configured secret; tokens without a
// rights claim get HOTROW_DEFAULT_RIGHTS, else watch and every op of every
// kind on every room.
func newVerifier(cfg config, kinds *rooms.Kinds, clk clock.Clock) (*auth.Verifier, error) {
	v := &auth.Verifier{Secret: []byte(cfg.TokenSecret), Default: auth.DefaultRights(kinds.OpTypes()), Clock: clk}
	if cfg.DefaultRights != "" {
		r, err := auth.ParseRights(cfg.DefaultRights)
		if err != nil {
			return nil, fmt.Errorf("HOTROW_DEFAULT_RIGHTS: %w", err)
		}
		v.Default = r
	}
	return v, nil
}

// offIfZero maps the configuration's 0 (off) to the hub's "no limit".
func offIfZero(rate float64) float64 {
	if rate == 0 {
		return -1
	}
	return rate
}

// noCapIfZero maps the configuration's 0 (no cap) to the hub's.
func noCapIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// newHTTPServer is the HTTP server for handler, with the configured
// timeouts: headers within 10 s, a whole request within the read timeout,
// a response within the write timeout, and idle keep-alive connections
// closed after the idle timeout. Sockets clear their connection's deadlines
// at the upgrade.
func newHTTPServer(cfg config, handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: cfg.HTTPReadTimeout, WriteTimeout: cfg.HTTPWriteTimeout, IdleTimeout: cfg.HTTPIdleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}
