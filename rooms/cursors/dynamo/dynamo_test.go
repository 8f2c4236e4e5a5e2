package dynamo_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotrow/hub/wire"
	"hotrow/internal/testdynalite"
	"hotrow/rooms/cursors"
	"hotrow/rooms/cursors/dynamo"
)

const (
	table = "hotrow_cursors"
	room  = "schema:doc1"
)

func setup(t *testing.T) (*testdynalite.Server, *dynamodb.Client, *dynamo.Store) {
	t.Helper()
	srv := testdynalite.Start(t)
	client, err := dynamo.NewClient(t.Context(), dynamo.ClientConfig{
		Endpoint: srv.Endpoint(), Region: "us-east-1", AccessKeyID: "local", SecretAccessKey: "local"})
	if err != nil {
		t.Fatal(err)
	}
	createTable(t, client)
	return srv, client, dynamo.New(client, table)
}

func createTable(t *testing.T, client *dynamodb.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	created, err := dynamo.CreateTable(ctx, client, table)
	if err != nil || !created {
		t.Fatalf("CreateTable = %v, %v", created, err)
	}
	if created, err := dynamo.CreateTable(ctx, client, table); err != nil || created {
		t.Fatalf("CreateTable again = %v, %v; want an existing table left alone", created, err)
	}
}

func TestStoreFiltersExpiredItems(t *testing.T) {
	_, _, s := setup(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	items := []cursors.Item{
		{Room: room, User: "old", Conn: "h.x.1", Name: "Old", ExpiresAt: now.Add(-time.Minute)},
		{Room: room, User: "alice", Conn: "h.x.2", Name: "Alice", Pos: json.RawMessage(`{"x":1}`), Updated: now, ExpiresAt: now.Add(time.Minute)},
		{Room: room, User: "bob", Conn: "h.x.3", Name: "Bob", Updated: now, ExpiresAt: now.Add(time.Minute)},
		{Room: "schema:other", User: "carol", Conn: "h.x.4", ExpiresAt: now.Add(time.Minute)},
	}
	for _, it := range items {
		if err := s.Put(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx, room, now)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b cursors.Item) int { return len(a.User) - len(b.User) })
	if len(got) != 2 || got[0].User != "bob" || got[1].User != "alice" {
		t.Fatalf("List = %+v; want alice and bob only (old expired, carol elsewhere)", got)
	}
	a := got[1]
	if string(a.Pos) != `{"x":1}` || a.Name != "Alice" || !a.Updated.Equal(now) || a.ExpiresAt.Unix() != now.Add(time.Minute).Unix() || a.Conn != "h.x.2" {
		t.Fatalf("alice round-tripped as %+v", a)
	}
	if got[0].Pos != nil {
		t.Fatalf("bob has no position yet, got %s", got[0].Pos)
	}
	// Later, alice's item expires too.
	if got, _ := s.List(ctx, room, now.Add(2*time.Minute)); len(got) != 0 {
		t.Fatalf("after the TTL List = %+v", got)
	}
	if err := s.Delete(ctx, room, "alice", "h.x.2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.List(ctx, room, now); len(got) != 1 {
		t.Fatalf("after delete List = %+v", got)
	}
}

// peer collects cursor frames.
type peer struct{ ch chan wire.Cursors }

func newPeer() *peer { return &peer{ch: make(chan wire.Cursors, 4096)} }

func (p *peer) Send(frame []byte, droppable bool) bool {
	if !droppable {
		panic("cursor frames must be droppable")
	}
	var c wire.Cursors
	if err := json.Unmarshal(frame, &c); err != nil {
		panic(err)
	}
	p.ch <- c
	return true
}

// await reads frames until match returns true (the timeout only bounds a
// failing test).
func (p *peer) await(t *testing.T, what string, match func(wire.Cursors) bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case c := <-p.ch:
			if match(c) {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func hasPos(user, pos string) func(wire.Cursors) bool {
	return func(c wire.Cursors) bool {
		for _, x := range c.Cursors {
			if x.User == user && string(x.Pos) == pos {
				return true
			}
		}
		return false
	}
}

func present(user string) func(wire.Cursors) bool {
	return func(c wire.Cursors) bool {
		for _, x := range c.Cursors {
			if x.User == user {
				return true
			}
		}
		return false
	}
}

func isGone(user string) func(wire.Cursors) bool {
	return func(c wire.Cursors) bool { return slices.Contains(c.Gone, user) }
}

func newService(t *testing.T, s cursors.Store, hub string, reg prometheus.Registerer) *cursors.Service {
	svc := cursors.New(s, reg, cursors.Config{HubID: hub, Tick: 10 * time.Millisecond,
		WriteInterval: 100 * time.Millisecond, PollInterval: 100 * time.Millisecond, StoreTimeout: time.Second})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Close(ctx)
	})
	return svc
}

func waitItems(t *testing.T, s *dynamo.Store, what string, cond func([]cursors.Item) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		items, err := s.List(t.Context(), room, time.Now())
		if err == nil && cond(items) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last %+v, %v)", what, items, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeleteOnLeaveAndTwoHubs(t *testing.T) {
	_, _, s := setup(t)
	h1 := newService(t, s, "hub-1", nil)
	h2 := newService(t, s, "hub-2", nil)
	pa, pb := newPeer(), newPeer()
	a := h1.Connect("alice", "Alice", pa)
	b := h2.Connect("bob", "Bob", pb)
	a.Join(room)
	if err := a.Move(room, json.RawMessage(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	waitItems(t, s, "alice's item", func(items []cursors.Item) bool {
		return len(items) == 1 && items[0].User == "alice" && string(items[0].Pos) == `{"x":1}` &&
			items[0].ExpiresAt.After(time.Now().Add(20*time.Second))
	})

	// A late joiner on another hub gets alice at once (read on join) ...
	b.Join(room)
	pb.await(t, "bob to see alice", hasPos("alice", `{"x":1}`))
	// ... and each sees the other move.
	pa.await(t, "alice to see bob", present("bob"))
	if err := b.Move(room, json.RawMessage(`{"x":2}`)); err != nil {
		t.Fatal(err)
	}
	pa.await(t, "alice to see bob move", hasPos("bob", `{"x":2}`))

	// Leaving deletes the item; the other hub shows the user gone.
	b.Leave(room)
	waitItems(t, s, "bob's item deleted", func(items []cursors.Item) bool {
		return len(items) == 1 && items[0].User == "alice"
	})
	pa.await(t, "alice to see bob gone", isGone("bob"))

	// A user on two hubs is gone only when the last socket leaves.
	a2 := h2.Connect("alice", "Alice", newPeer())
	a2.Join(room)
	pc := newPeer()
	c := h2.Connect("carol", "Carol", pc)
	c.Join(room)
	pc.await(t, "carol to see alice", present("alice"))
	waitItems(t, s, "alice on two hubs", func(items []cursors.Item) bool { return len(items) == 3 })
	a.Close()
	waitItems(t, s, "hub-1's alice deleted", func(items []cursors.Item) bool { return len(items) == 2 })
	a2.Close()
	pc.await(t, "alice gone when her last socket left", isGone("alice"))
	waitItems(t, s, "only carol left", func(items []cursors.Item) bool { return len(items) == 1 && items[0].User == "carol" })
}

func TestOutageCursorsFlowAndRecover(t *testing.T) {
	srv, client, s := setup(t)
	reg := prometheus.NewRegistry()
	h := newService(t, s, "hub-1", reg)
	pa, pb := newPeer(), newPeer()
	a := h.Connect("alice", "Alice", pa)
	b := h.Connect("bob", "Bob", pb)
	a.Join(room)
	b.Join(room)
	waitItems(t, s, "both items", func(items []cursors.Item) bool { return len(items) == 2 })

	srv.Stop(t)
	if err := a.Move(room, json.RawMessage(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	pb.await(t, "bob to see alice move during the outage", hasPos("alice", `{"x":1}`))
	waitMetric(t, reg, "put errors", func() bool {
		return counter(t, reg, "hotrow_cursor_store_errors_total", "op", "put") >= 1 &&
			counter(t, reg, "hotrow_cursor_store_writes_total", "outcome", "error") >= 1
	})
	if err := b.Move(room, json.RawMessage(`{"y":2}`)); err != nil {
		t.Fatal(err)
	}
	pa.await(t, "alice to see bob move during the outage", hasPos("bob", `{"y":2}`))

	// dynalite comes back empty (it keeps data in memory): the deploy
	// recreates the table; the writer's retries then succeed.
	srv.Restart(t)
	createTable(t, client)
	ok := counter(t, reg, "hotrow_cursor_store_writes_total", "outcome", "ok")
	if err := a.Move(room, json.RawMessage(`{"x":3}`)); err != nil {
		t.Fatal(err)
	}
	waitItems(t, s, "writes to resume", func(items []cursors.Item) bool {
		for _, it := range items {
			if it.User == "alice" && string(it.Pos) == `{"x":3}` {
				return true
			}
		}
		return false
	})
	if got := counter(t, reg, "hotrow_cursor_store_writes_total", "outcome", "ok"); got <= ok {
		t.Fatalf("ok writes %v after recovery, %v before", got, ok)
	}
	pb.await(t, "cursors still flowing after recovery", hasPos("alice", `{"x":3}`))
}

func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func waitMetric(t *testing.T, reg *prometheus.Registry, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			got, _ := testutil.GatherAndCount(reg)
			t.Fatalf("timed out waiting for %s (%d series)", what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
