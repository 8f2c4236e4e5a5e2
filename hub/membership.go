package hub

import "sync"

// membership is the rooms one socket is in, or asked to join and not yet
// heard back from. A room answers a join on its own goroutine (the hub
// never waits for it), so a join is pending until the room reports its
// outcome (rooms.Registry.Join's done): joined, or refused (no such room,
// store down, hub draining), which forgets it. Pending joins count under the
// socket's room cap, so a client cannot have more joins in flight than rooms;
// refused ones stop counting as soon as the room answers. Only a joined room
// takes cursors.
//
// The read loop and the rooms' goroutines both use it, under mu; the
// cursor presence changes it asks for (on and off) run under mu too, so they
// happen in the order the membership changed.
type membership struct {
	mu     sync.Mutex
	rooms  map[string]member
	gen    uint64
	closed bool // the socket ended: nothing joins any more
}

// member is one room's entry: the generation of its newest join (a later
// join or a leave supersedes an earlier join's outcome) and whether the room
// has confirmed the socket.
type member struct {
	gen    uint64
	joined bool
}

func newMembership() *membership { return &membership{rooms: map[string]member{}} }

// begin records a join of room and returns its generation; it refuses (ok
// false) when the socket is at max rooms, counting pending joins, and room
// is not one of them.
func (m *membership) begin(room string, max int) (gen uint64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, present := m.rooms[room]
	if m.closed || !present && len(m.rooms) >= max {
		return 0, false
	}
	m.gen++
	m.rooms[room] = member{gen: m.gen, joined: cur.joined}
	return m.gen, true
}

// settle records the room's answer to join gen: on joined, on() runs (the
// socket's presence in the room) unless a later join or a leave superseded
// the join or the socket ended; on a refusal the room is forgotten, and
// off() runs if the socket had been in it.
func (m *membership) settle(room string, gen uint64, joined bool, on, off func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, present := m.rooms[room]
	if m.closed || !present || cur.gen != gen {
		return
	}
	if joined {
		m.rooms[room] = member{gen: gen, joined: true}
		on()
		return
	}
	delete(m.rooms, room)
	if cur.joined {
		off()
	}
}

// abandon forgets join gen when the room never got it (busy, draining,
// malformed), unless the socket was already in the room.
func (m *membership) abandon(room string, gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, present := m.rooms[room]; present && cur.gen == gen && !cur.joined {
		delete(m.rooms, room)
	}
}

// leave forgets room, running off() under the lock, and reports whether
// the socket was in it or joining it.
func (m *membership) leave(room string, off func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, present := m.rooms[room]; !present {
		return false
	}
	delete(m.rooms, room)
	off()
	return true
}

// joined reports whether the room confirmed the socket.
func (m *membership) joined(room string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rooms[room].joined
}

// close ends the membership when the socket ends, running off() under the
// lock, and returns every room the socket was in or joining.
func (m *membership) close(off func()) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	off()
	out := make([]string, 0, len(m.rooms))
	for r := range m.rooms {
		out = append(out, r)
	}
	clear(m.rooms)
	return out
}

// list returns the rooms the socket is in or joining.
func (m *membership) list() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.rooms))
	for r := range m.rooms {
		out = append(out, r)
	}
	return out
}
