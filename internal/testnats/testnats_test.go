package testnats_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"hotrow/internal/testnats"
)

// The harness starts a real server, and a restart on the same port is
// found again by a reconnecting client, subscriptions included.
func TestStartStopRestart(t *testing.T) {
	ns := testnats.Start(t, nil)
	reconnected := make(chan struct{}, 1)
	nc, err := nats.Connect(ns.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("x", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "one" {
		t.Fatalf("got %v, %v", m, err)
	}

	ns.Stop()
	if ns.Clients() != 0 {
		t.Fatal("a stopped server has clients")
	}
	ns.Restart()
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("the client never reconnected to the restarted server")
	}
	if err := nc.Publish("x", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "two" {
		t.Fatalf("after the restart got %v, %v", m, err)
	}
}
