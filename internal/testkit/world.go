package testkit

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotrow/hub"
	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/rooms/cursors"
	"hotrow/rooms/schema"
	"hotrow/txn"
	"hotrow/txn/memstore"
)

// World is rooms on the embedded store: one store shared by any number of
// hubs, on one clock that is both the hubs' clock and the database's.
type World struct {
	T      testing.TB
	Clock  clock.Clock
	Store  *memstore.Store
	Logger *slog.Logger
}

// NewWorld makes an empty world on clk (nil: the real clock). Logs go
// nowhere unless the test runs with -v.
func NewWorld(t testing.TB, clk clock.Clock) *World {
	if clk == nil {
		clk = clock.Real{}
	}
	return &World{T: t, Clock: clk, Store: memstore.New(clk), Logger: Logger()}
}

// Logger is a test logger: stderr with -v, else silent.
func Logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Deps are one hub's room dependencies, counting transactions in m (nil:
// not counted). Retry back-offs sleep on the real clock (milliseconds), so
// conflicts never wait for a fake clock to move.
func (w *World) Deps(m *txn.Metrics) rooms.Deps {
	return rooms.Deps{
		Runner: &txn.Runner{Clock: clock.Real{}, Metrics: m, Policy: txn.Policy{MaxAttempts: 50}},
		Clock:  w.Clock,
		Logger: w.Logger,
	}.WithDefaults()
}

// Kinds are the room kinds every hub serves (auctions and schema
// documents) on the world's store.
func (w *World) Kinds(d rooms.Deps) *rooms.Kinds {
	return rooms.MustKinds(auction.RoomKind(w.Store.Auctions(), d), schema.RoomKind(w.Store.Schemas(), d))
}

// Registry starts one hub's room registry over kinds, drained when the
// test ends. cfg's Clock and Logger are the world's.
func (w *World) Registry(kinds *rooms.Kinds, reg prometheus.Registerer, cfg rooms.Config) *rooms.Registry {
	cfg.Clock, cfg.Logger = w.Clock, w.Logger
	r := rooms.NewRegistry(kinds, w.Store, reg, cfg)
	w.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Drain(ctx); err != nil {
			w.T.Errorf("drain: %v", err)
		}
	})
	return r
}

// Auction creates an auction (seller "seller"), failing the test if it
// cannot.
func (w *World) Auction(req auction.CreateRequest) auction.Auction {
	w.T.Helper()
	a, err := auction.NewService(w.Store.Auctions(), w.Deps(nil)).Create(context.Background(), req, "seller")
	if err != nil {
		w.T.Fatalf("create auction: %v", err)
	}
	return a
}

// Schema creates an empty schema document.
func (w *World) Schema(id, name string) schema.Doc {
	w.T.Helper()
	d, err := schema.NewService(w.Store.Schemas(), w.Deps(nil)).Create(context.Background(), schema.CreateRequest{ID: id, Name: name}, "owner")
	if err != nil {
		w.T.Fatalf("create schema document: %v", err)
	}
	return d
}

// HubOptions shape a hub started by StartHub. Zero fields take defaults.
type HubOptions struct {
	Hub   hub.Config   // Clock and Logger are the world's
	Rooms rooms.Config // likewise
	// Cursors shares cursors through an in-memory cursor store, on a
	// 20 ms tick.
	Cursors bool
	// Listener wraps the server's listener (to shrink socket buffers).
	Listener func(net.Listener) net.Listener
}

// Hub is one hub serving the world on an httptest server.
type Hub struct {
	URL     string // http://127.0.0.1:port
	Hub     *hub.Hub
	Rooms   *rooms.Registry
	Metrics *prometheus.Registry
}

// StartHub serves a hub over the world's store, with every room kind and
// its own metrics registry; it is closed and drained when the test ends.
func (w *World) StartHub(o HubOptions) *Hub {
	w.T.Helper()
	prom := prometheus.NewRegistry()
	deps := w.Deps(txn.NewMetrics(prom))
	rr := w.Registry(w.Kinds(deps), prom, o.Rooms)
	var cur *cursors.Service
	if o.Cursors {
		cur = cursors.New(cursors.NewMemStore(), prom, cursors.Config{HubID: "test", Tick: 20 * time.Millisecond, Clock: w.Clock, Logger: w.Logger})
	}
	o.Hub.Clock, o.Hub.Logger, o.Hub.Cursors = w.Clock, w.Logger, cur
	h := hub.New(rr, prom, o.Hub)
	srv := httptest.NewUnstartedServer(h)
	if o.Listener != nil {
		srv.Listener = o.Listener(srv.Listener)
	}
	srv.Start()
	w.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.CloseAll(ctx)
		srv.Close()
		if cur != nil {
			_ = cur.Close(ctx)
		}
	})
	return &Hub{URL: srv.URL, Hub: h, Rooms: rr, Metrics: prom}
}
