// Package testnats gives tests a real NATS server: nats-server itself,
// embedded in the test binary, listening on a free loopback port. Tests can
// stop it and start it again on the same port mid-run, the way a NATS
// restart looks to the hubs.
//
//	ns := testnats.Start(t, nil)
//	bus, err := natsbus.Connect(natsbus.Config{URL: ns.URL()})
//	...
//	ns.Stop()    // the hubs lose the bus
//	ns.Restart() // and find it again
//
// The server stops when the test ends.
package testnats

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is one embedded nats-server.
type Server struct {
	t    testing.TB
	opts server.Options

	mu sync.Mutex
	s  *server.Server // nil while stopped
}

// Start starts a server on a free loopback port; configure, if not nil, may
// set options (authorization, TLS) before it starts. It is shut down when
// the test ends.
func Start(t testing.TB, configure func(*server.Options)) *Server {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testnats: %v", err)
	}
	ns := &Server{t: t, opts: server.Options{
		Host:   "127.0.0.1",
		Port:   port,
		NoLog:  true,
		NoSigs: true,
		// No monitoring, no clustering: a bare server.
		HTTPPort: 0,
	}}
	if configure != nil {
		configure(&ns.opts)
	}
	if err := ns.start(); err != nil {
		t.Fatalf("testnats: %v", err)
	}
	t.Cleanup(ns.Stop)
	return ns
}

// URL is the server's client URL, nats://127.0.0.1:PORT (tls://… when TLS
// is on). It stays the same across restarts.
func (ns *Server) URL() string {
	scheme := "nats"
	if ns.opts.TLSConfig != nil {
		scheme = "tls"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, ns.opts.Port)
}

// Port is the server's port.
func (ns *Server) Port() int { return ns.opts.Port }

func (ns *Server) start() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.s != nil {
		return nil
	}
	opts := ns.opts // the server keeps a pointer: each run gets its own copy
	s, err := server.NewServer(&opts)
	if err != nil {
		return fmt.Errorf("configuring nats-server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("nats-server on port %d not ready after 10s", ns.opts.Port)
	}
	ns.s = s
	return nil
}

// Stop shuts the server down and waits until it has; clients see their
// connection drop. Stopping a stopped server does nothing.
func (ns *Server) Stop() {
	ns.mu.Lock()
	s := ns.s
	ns.s = nil
	ns.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Restart stops the server if it runs and starts a new one on the same
// port. Clients with reconnection on find it again.
func (ns *Server) Restart() {
	ns.t.Helper()
	ns.Stop()
	// The port was just released; another process could take it, so a
	// failure says so.
	var err error
	for i := 0; i < 50; i++ {
		if err = ns.start(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ns.t.Fatalf("testnats: restarting on port %d: %v", ns.opts.Port, err)
}

// Clients is how many client connections the server has (0 while stopped).
func (ns *Server) Clients() int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.s == nil {
		return 0
	}
	return ns.s.NumClients()
}

// Subscriptions is how many subscriptions the server holds.
func (ns *Server) Subscriptions() uint32 {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.s == nil {
		return 0
	}
	return ns.s.NumSubscriptions()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
