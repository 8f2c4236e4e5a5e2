package cursors

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"hotrow/hub/wire"
	"hotrow/internal/clock"
)

// A room lists at most its kind's cap of users, the first to arrive; the
// others are counted, their moves kept but not sent, and the earliest of
// them takes a place that frees.
func TestPresenceListsUpToTheCap(t *testing.T) {
	f := clock.NewFake(t0)
	s := newTestService(t, NewMemStore(), f, nil, func(c *Config) { c.Listed = map[string]int{"schema": 2} })
	users := []string{"ann", "ben", "cat", "dan"}
	peers, conns := map[string]*peer{}, map[string]*Conn{}
	for _, u := range users {
		peers[u] = newPeer()
		conns[u] = s.Connect(u, "", peers[u])
		conns[u].Join(testRoom)
		f.Advance(time.Millisecond) // arrival order: ann, ben, cat, dan
	}
	tickRoom(t, s, f, testRoom)
	for _, u := range users {
		first := byUser(peers[u].next(t))
		if len(first) != 2 || first["ann"].User == "" || first["ben"].User == "" {
			t.Fatalf("%s's first frame lists %v, want ann and ben only", u, first)
		}
		if n := peers[u].count(t); n != 4 {
			t.Fatalf("%s's first count = %d, want 4", u, n)
		}
	}
	// An unlisted user's move is not sent; a listed one's is.
	if err := conns["cat"].Move(testRoom, json.RawMessage(`{"x":3}`)); err != nil {
		t.Fatal(err)
	}
	tickRoom(t, s, f, testRoom)
	peers["ann"].none(t)
	// ann leaves: she is gone, and cat, the earliest unlisted, takes her
	// place, with the position she had.
	conns["ann"].Leave(testRoom)
	tickRoom(t, s, f, testRoom)
	fr := peers["ben"].next(t)
	if len(fr.Gone) != 1 || fr.Gone[0] != "ann" || len(fr.Cursors) != 1 || fr.Cursors[0].User != "cat" || string(fr.Cursors[0].Pos) != `{"x":3}` {
		t.Fatalf("after ann left ben saw %+v, want ann gone and cat at x=3", fr)
	}
	// dan's leaving changes no list: only the count.
	conns["dan"].Leave(testRoom)
	tickRoom(t, s, f, testRoom)
	peers["ben"].none(t)
}

// An auction room (a kind that lists no one) sends its joiners a count and
// no cursors frame at all, and shares no cursor.
func TestPresenceCountOnly(t *testing.T) {
	f := clock.NewFake(t0)
	s := newTestService(t, NewMemStore(), f, nil, func(c *Config) { c.Listed = map[string]int{"auction": 0} })
	const room = "auction:lamp"
	pa, pb := newPeer(), newPeer()
	a, b := s.Connect("ann", "", pa), s.Connect("ben", "", pb)
	a.Join(room)
	b.Join(room)
	tickRoom(t, s, f, room)
	if n := pa.count(t); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	if err := a.Move(room, json.RawMessage(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	tickRoom(t, s, f, room)
	pa.none(t)
	pb.none(t)
}

// The count goes to everyone when it changes, at most once per
// PresenceInterval; a joiner gets it at once.
func TestPresenceCountThrottled(t *testing.T) {
	f := clock.NewFake(t0)
	s := newTestService(t, NewMemStore(), f, nil, func(c *Config) {
		c.Listed = map[string]int{"auction": 0}
		c.PresenceInterval = time.Second
	})
	const room = "auction:lamp"
	pa := newPeer()
	s.Connect("ann", "", pa).Join(room)
	tickRoom(t, s, f, room)
	if n := pa.count(t); n != 1 {
		t.Fatalf("count = %d, want 1", n)
	}
	// Joiners within the interval: each gets the count at once, ann not yet.
	for i := range 3 {
		p := newPeer()
		s.Connect(fmt.Sprint("u", i), "", p).Join(room)
		tickRoom(t, s, f, room)
		if n := p.count(t); n != 2+i {
			t.Fatalf("joiner %d got count %d, want %d", i, n, 2+i)
		}
	}
	pa.noCount(t)
	for f.Now().Before(t0.Add(1100 * time.Millisecond)) {
		tickRoom(t, s, f, room)
	}
	if n := pa.count(t); n != 4 {
		t.Fatalf("count after the interval = %d, want 4", n)
	}
	tickRoom(t, s, f, room)
	pa.noCount(t) // unchanged: not sent again
}

// The presence bytes of a join storm grow linearly with the joiners: the
// bytes per joiner of a storm ten times larger stay about the same.
func TestPresenceJoinStormLinear(t *testing.T) {
	perJoiner := func(n int) float64 {
		f := clock.NewFake(t0)
		s := newTestService(t, NewMemStore(), f, nil, nil)
		var ps []*peer
		for i := range n {
			p := newPeer()
			p.ch, p.counts = make(chan wire.Cursors, n*8), make(chan wire.Presence, n*8)
			ps = append(ps, p)
			s.Connect(fmt.Sprint("user", i), "", p).Join(testRoom)
			if i%10 == 9 {
				tickRoom(t, s, f, testRoom) // ten joiners a tick
			}
		}
		for range 40 {
			tickRoom(t, s, f, testRoom)
		}
		total := 0
		for _, p := range ps {
			p.mu.Lock()
			for _, fr := range p.frames {
				total += len(fr)
			}
			p.mu.Unlock()
		}
		return float64(total) / float64(n)
	}
	small, large := perJoiner(100), perJoiner(1000)
	if large > 2*small {
		t.Fatalf("presence bytes per joiner: %.0f with 100 joiners, %.0f with 1,000: not linear", small, large)
	}
}

// lazyPeer is a peer that can hold a frame back (LazyPeer): it records
// which counts came which way.
type lazyPeer struct {
	*peer
	lazy chan wire.Presence
}

func (p *lazyPeer) SendLazy(frame []byte) bool {
	var n wire.Presence
	if err := json.Unmarshal(frame, &n); err != nil || n.Type != "presence" {
		panic(fmt.Sprintf("a lazy frame that is not a count: %s", frame))
	}
	p.lazy <- n
	return true
}

// A count to everyone goes to a socket that can hold it back the lazy way
// (in a busy room it rides with the next event); a joiner's count comes at
// once, with its first frames.
func TestPresenceCountToEveryoneIsLazy(t *testing.T) {
	f := clock.NewFake(t0)
	s := newTestService(t, NewMemStore(), f, nil, func(c *Config) {
		c.Listed = map[string]int{"auction": 0}
		c.PresenceInterval = time.Second
	})
	const room = "auction:lamp"
	pa := &lazyPeer{peer: newPeer(), lazy: make(chan wire.Presence, 16)}
	s.Connect("ann", "", pa).Join(room)
	tickRoom(t, s, f, room)
	if n := pa.count(t); n != 1 {
		t.Fatalf("joiner's count = %d, want 1, sent at once", n)
	}
	s.Connect("ben", "", newPeer()).Join(room)
	for f.Now().Before(t0.Add(1100 * time.Millisecond)) {
		tickRoom(t, s, f, room)
	}
	pa.noCount(t)
	select {
	case n := <-pa.lazy:
		if n.Count != 2 {
			t.Fatalf("lazy count = %d, want 2", n.Count)
		}
	default:
		t.Fatal("the count to everyone was not sent the lazy way")
	}
}

// Greet sends a joiner its first frames at once, not at the next tick: the
// listed users and the count, the joiner counted. A greeted socket is no
// newcomer at the tick (no second full listing); one not greeted still
// gets its first frames there.
func TestGreetSendsTheFirstFramesAtOnce(t *testing.T) {
	f := clock.NewFake(t0)
	s := newTestService(t, NewMemStore(), f, nil, nil)
	pa, pb := newPeer(), newPeer()
	a, b := s.Connect("ann", "", pa), s.Connect("ben", "", pb)
	a.Join(testRoom)
	a.Greet(testRoom)
	if first := byUser(pa.next(t)); len(first) != 1 || first["ann"].User != "ann" {
		t.Fatalf("ann's greeting lists %v, want ann", first)
	}
	if n := pa.count(t); n != 1 {
		t.Fatalf("ann's first count = %d, want 1", n)
	}
	b.Join(testRoom) // not greeted: the tick sends ben his first frames
	tickRoom(t, s, f, testRoom)
	if first := byUser(pb.next(t)); len(first) != 2 {
		t.Fatalf("ben's first frame at the tick lists %v, want ann and ben", first)
	}
	if n := pb.count(t); n != 2 {
		t.Fatalf("ben's first count = %d, want 2", n)
	}
	// ann, greeted already, gets at the tick what changed since the last
	// tick (the arrivals, hers included), not a newcomer's listing again.
	if fr := byUser(pa.next(t)); fr["ben"].User != "ben" {
		t.Fatalf("ann's frame at the tick %+v, want ben's arrival", fr)
	}
	pa.none(t)
	// Greeting a socket that is not in the room sends nothing.
	pc := newPeer()
	s.Connect("cat", "", pc).Greet(testRoom)
	pc.none(t)
	pc.noCount(t)
}
