package cursors

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"hotrow/hub/wire"
	"hotrow/internal/clock"
)

// room is one room's cursors on this hub: who is here, what the store says
// about other hubs, and what changed since the last frame. Its goroutine
// runs while it has local members, sends at most one frame per tick, and
// polls the store in the background.
//
// Presence scales with the room (docs/protocol.md, "Cursors and presence"):
// at most maxListed users are listed in cursors frames, the first to
// arrive, and a listed user who leaves gives the place to the earliest
// unlisted one; only listed users' changes are sent. Everyone present is
// counted in presence frames, sent when the count changed and no more often
// than presenceEvery allows. A joiner's first frames hold at most
// maxListed users and the count, so the presence bytes of a join storm
// grow linearly with the joiners.
type room struct {
	svc  *Service
	name string
	quit chan struct{}
	kick chan struct{} // poll now

	maxListed int

	// Touched only by the room goroutine.
	nextTick    time.Time
	tickT       clock.Timer
	pollT       clock.Timer
	countSent   int // the count last sent to every socket; -1 before any
	countSentAt time.Time
	polledAt    time.Time // when the last poll started
	pollDue     bool      // a join asked for a poll that kickEvery held back

	mu         sync.Mutex
	local      map[*Conn]*member
	localUsers map[string]int
	remote     map[string]remoteUser // users seen in the store on other hubs
	view       map[string]*presence  // every present user
	listed     map[string]struct{}   // the users cursors frames show, at most maxListed
	arrivals   uint64                // users seen so far: the next one's seq
	changed    map[string]struct{}   // listed users changed since the last frame
	gone       map[string]struct{}   // users unlisted since the last frame
	newcomers  map[*Conn]struct{}    // get a full frame at the next tick
	busSeen    map[string]busUser    // users of other hubs, as their batches showed them (bus.go)
	busOut     map[string]struct{}   // local users to publish at the next tick
	busLeft    map[string]struct{}   // local users gone from this hub, to publish
	busCancel  func()                // touched only by the room goroutine
	polling    bool
	pollAgain  bool
	stopped    bool
	handled    atomic.Int64 // ticks handled, for tests
}

type member struct {
	pos json.RawMessage
	at  time.Time
}

type presence struct {
	name string
	pos  json.RawMessage
	at   time.Time
	seq  uint64 // arrival order, for taking a listed place that frees
}

type remoteUser struct {
	name    string
	pos     json.RawMessage
	at      time.Time
	expires time.Time
}

func newRoom(s *Service, name string) *room {
	c := s.cfg.Clock
	now := c.Now()
	r := &room{svc: s, name: name, quit: make(chan struct{}), kick: make(chan struct{}, 1),
		maxListed: s.cfg.listed(name), countSent: -1,
		local: map[*Conn]*member{}, localUsers: map[string]int{}, remote: map[string]remoteUser{},
		view: map[string]*presence{}, listed: map[string]struct{}{}, changed: map[string]struct{}{},
		gone: map[string]struct{}{}, newcomers: map[*Conn]struct{}{}, busSeen: map[string]busUser{},
		busOut: map[string]struct{}{}, busLeft: map[string]struct{}{}}
	// The timers are armed here, before the goroutine starts, so a test
	// that advances a fake clock right after Join fires them.
	r.nextTick = now.Add(s.cfg.Tick)
	r.tickT = c.NewTimer(s.cfg.Tick)
	r.pollT = c.NewTimer(s.cfg.PollInterval)
	return r
}

func (r *room) lock()   { r.mu.Lock() }
func (r *room) unlock() { r.mu.Unlock() }

func (r *room) now() time.Time { return r.svc.cfg.Clock.Now().UTC().Truncate(time.Millisecond) }

// join adds c; called with svc.mu held (so the room cannot retire meanwhile).
func (r *room) join(c *Conn) {
	now := r.now()
	r.lock()
	if _, ok := r.local[c]; !ok {
		r.local[c] = &member{at: now}
		r.localUsers[c.user]++
		if _, present := r.view[c.user]; !present {
			p := &presence{name: c.name, at: now}
			if ru, ok := r.remote[c.user]; ok {
				p.pos, p.at = ru.pos, ru.at
			}
			r.arrive(c.user, p)
		}
	}
	r.newcomers[c] = struct{}{}
	r.noteLocal(c.user)
	r.unlock()
	r.svc.w.upsert(c.item(r.name, nil, now))
	r.pollSoon()
}

// greet sends newcomer c its first frames now (Conn.Greet), and takes it
// off the next tick's newcomers.
func (r *room) greet(c *Conn) {
	r.lock()
	defer r.unlock()
	if _, ok := r.newcomers[c]; !ok || r.stopped {
		return
	}
	delete(r.newcomers, c)
	if r.maxListed > 0 {
		c.peer.Send(r.listing(), true)
		r.svc.m.frames.Inc()
	}
	c.peer.Send(r.countFrame(), true)
}

func (r *room) leave(c *Conn) {
	r.lock()
	if _, ok := r.local[c]; !ok {
		r.unlock()
		return
	}
	delete(r.local, c)
	delete(r.newcomers, c)
	r.localUsers[c.user]--
	if r.localUsers[c.user] <= 0 {
		delete(r.localUsers, c.user)
		r.noteLeft(c.user)
		r.userLeftHere(c.user)
	}
	r.unlock()
	r.svc.w.remove(r.name, c.user, c.id)
}

// userLeftHere handles a user with no socket left on this hub: gone, unless
// the store shows them on another hub. Called with the lock held.
func (r *room) userLeftHere(user string) {
	if ru, ok := r.remote[user]; ok {
		if p := r.view[user]; p != nil {
			p.name, p.pos, p.at = ru.name, ru.pos, ru.at
			r.touch(user)
		}
		return
	}
	if bu, ok := r.busSeen[user]; ok {
		if p := r.view[user]; p != nil {
			p.name, p.pos, p.at = bu.name, bu.pos, bu.at
			r.touch(user)
		}
		return
	}
	r.markGone(user)
}

// arrive adds a present user, listed while there is room. Called with the
// lock held.
func (r *room) arrive(user string, p *presence) {
	p.seq = r.arrivals
	r.arrivals++
	r.view[user] = p
	if len(r.listed) < r.maxListed {
		r.list(user)
	}
}

// list gives user a listed place: the others see them at the next tick.
func (r *room) list(user string) {
	r.listed[user] = struct{}{}
	r.changed[user] = struct{}{}
	delete(r.gone, user)
}

// touch marks a listed user's change for the next frame; an unlisted
// user's change is kept, not sent.
func (r *room) touch(user string) {
	if _, ok := r.listed[user]; ok {
		r.changed[user] = struct{}{}
	}
}

func (r *room) markGone(user string) {
	if _, ok := r.view[user]; !ok {
		return
	}
	delete(r.view, user)
	delete(r.changed, user)
	if _, ok := r.listed[user]; ok {
		delete(r.listed, user)
		r.gone[user] = struct{}{}
		r.promote()
	}
}

// promote gives freed listed places to the earliest unlisted arrivals.
func (r *room) promote() {
	for len(r.listed) < r.maxListed && len(r.listed) < len(r.view) {
		next, seq := "", uint64(0)
		for u, p := range r.view {
			if _, ok := r.listed[u]; !ok && (next == "" || p.seq < seq) {
				next, seq = u, p.seq
			}
		}
		r.list(next)
	}
}

func (r *room) move(c *Conn, pos json.RawMessage) error {
	now := r.now()
	r.lock()
	m, ok := r.local[c]
	if !ok || r.stopped {
		stopped := r.stopped
		r.unlock()
		if stopped {
			return ErrClosed
		}
		return ErrNotJoined
	}
	m.pos, m.at = pos, now
	p := r.view[c.user]
	p.pos, p.at, p.name = pos, now, c.name
	r.touch(c.user)
	r.noteLocal(c.user)
	r.unlock()
	r.svc.w.upsert(c.item(r.name, pos, now))
	return nil
}

func (r *room) pollSoon() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *room) run() {
	defer r.svc.wg.Done()
	defer func() {
		r.tickT.Stop()
		r.pollT.Stop()
	}()
	r.subscribeBus()
	defer r.unsubscribeBus()
	for {
		select {
		case <-r.quit:
			r.lock()
			r.stopped = true
			r.unlock()
			return
		case <-r.tickT.C():
			if r.tick() {
				return
			}
		case <-r.pollT.C():
			r.pollT = r.svc.cfg.Clock.NewTimer(r.svc.cfg.PollInterval)
			r.startPoll()
		case <-r.kick:
			// A join polls at once, but a crowd joining polls at most
			// every few ticks: each poll reads every member's item.
			if r.svc.cfg.Clock.Now().Sub(r.polledAt) < r.kickEvery() {
				r.pollDue = true
				continue
			}
			r.startPoll()
		}
	}
}

// tick sends this tick's frames; it reports true when the room retired.
func (r *room) tick() bool {
	c := r.svc.cfg.Clock
	now := c.Now()
	// Next tick on a fixed schedule, armed before anything is sent.
	r.nextTick = r.nextTick.Add(r.svc.cfg.Tick)
	if !r.nextTick.After(now) {
		r.nextTick = now.Add(r.svc.cfg.Tick)
	}
	r.tickT = c.NewTimer(r.nextTick.Sub(now))

	defer r.handled.Add(1)
	// Published first: a room whose last member just left still tells the
	// other hubs before it retires.
	r.publishBatch()
	if r.retireIfEmpty() {
		return true
	}
	if r.pollDue && now.Sub(r.polledAt) >= r.kickEvery() {
		r.pollDue = false
		r.startPoll()
	}
	r.lock()
	defer r.unlock()
	r.expireRemote(now)
	r.expireBus(now)
	var delta []byte
	if len(r.changed) > 0 || len(r.gone) > 0 {
		delta = r.frame(sortedKeys(r.changed), sortedKeys(r.gone))
		clear(r.changed)
		clear(r.gone)
	}
	var full []byte
	if len(r.newcomers) > 0 && r.maxListed > 0 {
		full = r.listing()
	}
	// The count: to every socket when it changed and the throttle allows,
	// and to a newcomer in any case.
	count := len(r.view)
	var counted []byte
	everyone := count != r.countSent && !now.Before(r.countSentAt.Add(r.presenceEvery()))
	if everyone || len(r.newcomers) > 0 {
		counted = r.countFrame()
	}
	if everyone {
		r.countSent, r.countSentAt = count, now
	}
	if delta == nil && full == nil && counted == nil {
		return false
	}
	sent := 0
	send := func(conn *Conn, isNew bool) {
		frame := delta
		if isNew {
			frame = full
		}
		if frame != nil {
			conn.peer.Send(frame, true)
			sent++
		}
		switch lazy, ok := conn.peer.(LazyPeer); {
		case isNew || (everyone && !ok):
			conn.peer.Send(counted, true)
		case everyone:
			lazy.SendLazy(counted)
		}
	}
	if delta == nil && !everyone {
		// Only the newcomers get anything: in a crowd joining, a tick has
		// a few hundred of them among thousands of members.
		for conn := range r.newcomers {
			send(conn, true)
		}
	} else {
		for conn := range r.local {
			_, isNew := r.newcomers[conn]
			send(conn, isNew)
		}
	}
	clear(r.newcomers)
	r.svc.m.frames.Add(float64(sent))
	return false
}

// presenceEvery is the least time between two counts sent to every
// socket: Config.PresenceInterval for each started 1,000 of them.
func (r *room) presenceEvery() time.Duration {
	return r.svc.cfg.PresenceInterval * time.Duration(1+(len(r.local)-1)/1000)
}

// listing is the frame a newcomer gets first: every listed user. Called
// with the lock held.
func (r *room) listing() []byte { return r.frame(sortedKeys(r.listed), []string{}) }

// countFrame is the presence frame: everyone present. Called with the lock
// held.
func (r *room) countFrame() []byte {
	return wire.Encode(wire.Presence{Type: "presence", Room: r.name, Count: len(r.view)})
}

func (r *room) frame(users, gone []string) []byte {
	cs := make([]wire.Cursor, 0, len(users))
	for _, u := range users {
		p := r.view[u]
		cs = append(cs, wire.Cursor{User: u, Name: p.name, Pos: p.pos, At: p.at})
	}
	return wire.Encode(wire.Cursors{Type: "cursors", Room: r.name, Cursors: cs, Gone: gone})
}

// retireIfEmpty removes a room with no local members.
func (r *room) retireIfEmpty() bool {
	r.lock()
	busy := len(r.local) > 0
	r.unlock()
	if busy {
		return false
	}
	s := r.svc
	s.mu.Lock()
	defer s.mu.Unlock()
	r.lock()
	defer r.unlock()
	if len(r.local) > 0 || r.stopped {
		return false
	}
	r.stopped = true
	if s.rooms[r.name] == r {
		delete(s.rooms, r.name)
		s.m.rooms.Dec()
	}
	return true
}

// expireRemote forgets remote users whose items all expired (their hub
// stopped refreshing them and the store could not be read meanwhile).
// Called with the lock held.
func (r *room) expireRemote(now time.Time) {
	for u, ru := range r.remote {
		if !ru.expires.After(now) {
			delete(r.remote, u)
			if r.localUsers[u] == 0 && !r.onBus(u, now) {
				r.markGone(u)
			}
		}
	}
}

// kickEvery is the least time between two polls asked for by joins.
func (r *room) kickEvery() time.Duration { return 4 * r.svc.cfg.Tick }

// startPoll reads the store in the background, one read at a time.
func (r *room) startPoll() {
	r.polledAt = r.svc.cfg.Clock.Now()
	r.lock()
	if r.polling || r.stopped {
		r.pollAgain = !r.stopped
		r.unlock()
		return
	}
	r.polling = true
	r.unlock()
	s := r.svc
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StoreTimeout)
		items, err := s.store.List(ctx, r.name, s.cfg.Clock.Now())
		cancel()
		if err != nil {
			s.m.errors.WithLabelValues(opList).Inc()
		}
		r.lock()
		r.polling = false
		again := r.pollAgain
		r.pollAgain = false
		if err == nil && !r.stopped {
			r.applyPoll(items)
		}
		r.unlock()
		if again {
			r.pollSoon()
		}
	}()
}

// applyPoll merges what the store holds for other hubs. Called with the
// lock held.
func (r *room) applyPoll(items []Item) {
	now := r.svc.cfg.Clock.Now()
	seen := map[string]remoteUser{}
	for _, it := range items {
		if r.svc.ownConn(it.Conn) || !it.ExpiresAt.After(now) {
			continue // ours: the local view is authoritative
		}
		ru, ok := seen[it.User]
		if !ok {
			ru = remoteUser{name: it.Name, at: it.Updated.UTC()}
		}
		if it.ExpiresAt.After(ru.expires) {
			ru.expires = it.ExpiresAt
		}
		// The latest position among the user's connections wins.
		if len(it.Pos) > 0 && (ru.pos == nil || it.Updated.After(ru.at)) {
			ru.pos, ru.at, ru.name = it.Pos, it.Updated.UTC(), it.Name
		}
		seen[it.User] = ru
	}
	for u, ru := range seen {
		p, present := r.view[u]
		switch {
		case !present:
			r.arrive(u, &presence{name: ru.name, pos: ru.pos, at: ru.at})
		case ru.pos != nil && !bytes.Equal(ru.pos, p.pos) && !ru.at.Before(p.at):
			p.pos, p.at, p.name = ru.pos, ru.at, ru.name
			r.touch(u)
		}
	}
	for u := range r.remote {
		if _, still := seen[u]; !still && r.localUsers[u] == 0 && !r.onBus(u, now) {
			r.markGone(u)
		}
	}
	r.remote = seen
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
