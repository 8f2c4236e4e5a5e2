package main

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"hotrow/internal/clock"
	"hotrow/internal/testkit"
	"hotrow/rooms"
	"hotrow/txn/memstore"
)

// The poll kind below is a throwaway room kind that exists only in this
// test: rooms named poll:<id> take vote messages whose payload is the
// choice field. It is registered the way every kind is (its KindMaker in
// roomKinds) and nothing in hub/ or rooms/ knows of it.
const pollKind = "poll"

type pollProvider interface{ Polls() *pollStore }

// storeWithPolls is the embedded store with the poll kind's rows added.
type storeWithPolls struct {
	*memstore.Store
	polls *pollStore
}

func (s storeWithPolls) Polls() *pollStore { return s.polls }

// pollStore keeps a poll's votes under "poll/<id>" in the embedded store,
// whose idempotency records it shares.
type pollStore struct {
	rooms.AppliedStore
	mem *memstore.Store
}

func pollKey(id string) string { return "poll/" + id }

func (p *pollStore) Attempt(ctx context.Context, _ string, key rooms.Key, fn func(memstore.RoomTx) error) error {
	return p.mem.Attempt(ctx, key, fn)
}

func (p *pollStore) create(ctx context.Context, id string) error {
	return p.mem.Attempt(ctx, rooms.Key{}, func(tx memstore.RoomTx) error {
		tx.KV().Put(pollKey(id), map[string]int{})
		now, _ := tx.Now(ctx)
		return tx.Append("poll:"+id, pollKind, rooms.Event{Room: "poll:" + id, Version: 1, Kind: "created", At: now,
			Data: json.RawMessage(`{}`), State: json.RawMessage(`{}`)})
	})
}

func readVotes(tx memstore.RoomTx, id string) (map[string]int, int64, error) {
	v, ok := tx.KV().Get(pollKey(id))
	if !ok {
		return nil, 0, rooms.ErrNotFound
	}
	version, _ := tx.Version("poll:" + id)
	return maps.Clone(v.(map[string]int)), version, nil
}

func pollFromStore(store any, d rooms.Deps) (rooms.Kind, error) {
	p, err := rooms.Provided[pollProvider](store, pollKind)
	if err != nil {
		return rooms.Kind{}, err
	}
	st := p.Polls()
	return rooms.Kind{
		Name: pollKind,
		Ops:  []rooms.Op{{Type: "vote", Field: "choice"}},
		New: func(id string) rooms.Engine {
			return &pollEngine{Committer: rooms.NewCommitter(pollKind, id, d.WithDefaults(), st)}
		},
	}, nil
}

type pollEngine struct {
	rooms.Committer[*pollStore]
	votes map[string]int
}

func (e *pollEngine) Load(ctx context.Context) (int64, error) {
	return e.Committer.Load(ctx, func(ctx context.Context) (v int64, err error) {
		err = e.Store.mem.Read(ctx, func(tx memstore.RoomTx) error {
			e.votes, v, err = readVotes(tx, e.ID)
			return err
		})
		return v, err
	})
}

func (e *pollEngine) Apply(ctx context.Context, m *rooms.Mutation) rooms.Outcome {
	var choice string
	if json.Unmarshal(m.Payload, &choice) != nil || choice == "" {
		return rooms.Outcome{Reject: rooms.Reject("invalid_choice", "choice must be a non-empty string")}
	}
	return rooms.Commit(ctx, &e.Committer, m, "vote", e.Store.Attempt, func(ctx context.Context, tx memstore.RoomTx, s rooms.Stamp) (rooms.Event, error) {
		votes, v, err := readVotes(tx, e.ID)
		if err != nil {
			return rooms.Event{}, err
		}
		votes[choice]++
		now, _ := tx.Now(ctx)
		data, _ := json.Marshal(map[string]string{"choice": choice, "id": m.ID})
		state, _ := json.Marshal(votes)
		ev := rooms.Event{Room: e.Room, Version: v + 1, Kind: "vote", By: m.User, At: now, Data: data, State: state}
		tx.KV().Put(pollKey(e.ID), votes)
		tx.RecordApplied(e.Room, m.User, m.ID, s.Applied(ev.Version))
		return ev, tx.Append(e.Room, pollKind, ev)
	})
}

func (e *pollEngine) Observe(ev rooms.Event) error {
	var votes map[string]int
	if err := json.Unmarshal(ev.State, &votes); err != nil {
		return err
	}
	e.votes = votes
	var d struct{ ID string }
	if json.Unmarshal(ev.Data, &d) == nil && d.ID != "" {
		e.Applied.Learn(ev.By, d.ID, ev.Version)
	}
	return nil
}

func (e *pollEngine) State(time.Time) any { return maps.Clone(e.votes) }

// A room kind registered outside hub/ and rooms/ is served end to end: its
// message type is dispatched to its rooms, counted under its own label,
// committed once (a resend gets the same ack), and broadcast to the room.
func TestARegisteredKindIsServed(t *testing.T) {
	saved := roomKinds
	roomKinds = append(slices.Clone(roomKinds), pollFromStore)
	t.Cleanup(func() { roomKinds = saved })

	mem := memstore.New(clock.Real{})
	st := storeWithPolls{Store: mem, polls: &pollStore{AppliedStore: mem, mem: mem}}
	if err := st.polls.create(context.Background(), "lunch"); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, st, "polls")

	alice, bob := testkit.Dial(t, h.url, "alice"), testkit.Dial(t, h.url, "bob")
	for _, c := range []*testkit.Client{alice, bob} {
		c.Send(map[string]any{"type": "join", "ref": "j", "room": "poll:lunch"})
		if j := c.Await("joined", testkit.Reply("joined", "j")); j["version"] != 1.0 {
			t.Fatalf("joined %v, want version 1", j)
		}
	}
	vote := map[string]any{"type": "vote", "ref": "v", "room": "poll:lunch", "id": "v1", "choice": "pizza"}
	alice.Send(vote)
	ack := alice.Await("ack", testkit.Reply("ack", "v"))
	if ack["version"] != 2.0 || ack["attempts"] != 1.0 {
		t.Fatalf("ack %v, want version 2 after 1 attempt", ack)
	}
	ev := bob.Until("event")
	if ev["room"] != "poll:lunch" || ev["version"] != 2.0 || ev["kind"] != "vote" || ev["by"] != "alice" {
		t.Fatalf("bob got %v, want alice's vote as version 2", ev)
	}
	if st, _ := json.Marshal(ev["state"]); string(st) != `{"pizza":1}` {
		t.Fatalf("state %s, want one vote for pizza", st)
	}
	alice.Send(vote) // a resend: the same ack, no second vote
	if again := alice.Await("ack", testkit.Reply("ack", "v")); again["version"] != 2.0 {
		t.Fatalf("resend acked %v, want the original version 2", again)
	}
	alice.Send(map[string]any{"type": "vote", "ref": "bad", "room": "poll:lunch", "id": "v2", "choice": 3})
	if r := alice.Await("reject", testkit.Reply("reject", "bad")); r["reason"] != "invalid_choice" {
		t.Fatalf("a bad choice got %v", r)
	}
	alice.Send(map[string]any{"type": "vote", "ref": "w", "room": "auction:x", "id": "v3", "choice": "pizza"})
	if e := alice.Await("error", testkit.Reply("error", "w")); !strings.Contains(e["message"].(string), "vote goes to poll rooms") {
		t.Fatalf("a vote to an auction got %v", e)
	}
	alice.Send(map[string]any{"type": "join", "ref": "q", "room": "quiz:x"})
	if e := alice.Await("error", testkit.Reply("error", "q")); !strings.Contains(e["message"].(string), "auction, schema or poll") {
		t.Fatalf("an unknown kind's error does not name the kinds: %v", e)
	}

	if got := metricValue(t, h.app, "hotrow_ws_messages_total", map[string]string{"type": "vote"}); got != 4 {
		t.Errorf("hotrow_ws_messages_total{type=vote} = %v, want 4", got)
	}
	if got := metricValue(t, h.app, "hotrow_txn_commits_total", map[string]string{"kind": "poll", "op": "vote", "outcome": "committed"}); got != 1 {
		t.Errorf("committed votes = %v, want 1", got)
	}
}
