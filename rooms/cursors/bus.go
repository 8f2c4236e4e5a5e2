package cursors

import (
	"bytes"
	"encoding/json"
	"time"

	"hotrow/hub/wire"
)

// Bus carries cursor batches between the hubs that share rooms, so a
// collaborator on another hub moves at the tick rate instead of the store's
// poll rate. The store stays the record (a joining socket's first frame, a
// hub that restarts, users whose hub the bus cannot reach). The NATS
// implementation is package rooms/bus/natsbus.
type Bus interface {
	// PublishCursors sends one batch for room without waiting on the
	// network for long.
	PublishCursors(room string, batch []byte) error
	// SubscribeCursors hands every batch published for room to fn, on a
	// goroutine of the bus's own, until cancel is called.
	SubscribeCursors(room string, fn func(batch []byte)) (cancel func(), err error)
}

// busBatch is what one hub publishes for one room at one tick: its local
// users who joined or moved since its previous batch, and those with no
// socket left on it.
type busBatch struct {
	Hub     string        `json:"hub"` // the sending service's instance id
	Cursors []wire.Cursor `json:"cursors,omitempty"`
	Left    []string      `json:"left,omitempty"`
}

// busUser is a user of another hub as its batches showed them. It counts
// towards presence until expires (busTTL after its last batch); after that
// the store decides.
type busUser struct {
	name    string
	pos     json.RawMessage
	at      time.Time
	expires time.Time
}

// busTTL is how long a user learnt from the bus stays present without news
// from the bus or the store: long enough for the store to have their item.
func (s *Service) busTTL() time.Duration { return 3 * s.cfg.PollInterval }

// subscribeBus subscribes the room to other hubs' batches; called once,
// when the room starts.
func (r *room) subscribeBus() {
	b := r.svc.cfg.Bus
	if b == nil {
		return
	}
	cancel, err := b.SubscribeCursors(r.name, r.fromBus)
	if err != nil {
		r.svc.cfg.Logger.Warn("subscribing to cursors on the bus failed; the store still shares them", "room", r.name, "err", err)
		return
	}
	r.busCancel = cancel
}

func (r *room) unsubscribeBus() {
	if r.busCancel != nil {
		r.busCancel()
	}
}

// noteLocal records that a local user joined or moved, for the next batch.
// Called with the lock held.
func (r *room) noteLocal(user string) {
	if r.svc.cfg.Bus == nil {
		return
	}
	r.busOut[user] = struct{}{}
	delete(r.busLeft, user)
}

// noteLeft records that a user has no socket left here. Called with the lock
// held.
func (r *room) noteLeft(user string) {
	if r.svc.cfg.Bus == nil {
		return
	}
	delete(r.busOut, user)
	r.busLeft[user] = struct{}{}
}

// publishBatch sends this tick's batch, if anything changed locally.
func (r *room) publishBatch() {
	b := r.svc.cfg.Bus
	if b == nil {
		return
	}
	r.lock()
	if len(r.busOut) == 0 && len(r.busLeft) == 0 {
		r.unlock()
		return
	}
	batch := busBatch{Hub: r.svc.instance, Left: sortedKeys(r.busLeft)}
	for _, u := range sortedKeys(r.busOut) {
		if p := r.view[u]; p != nil && r.localUsers[u] > 0 {
			batch.Cursors = append(batch.Cursors, wire.Cursor{User: u, Name: p.name, Pos: p.pos, At: p.at})
		}
	}
	clear(r.busOut)
	clear(r.busLeft)
	r.unlock()
	body, err := json.Marshal(batch)
	if err == nil {
		err = b.PublishCursors(r.name, body)
	}
	r.svc.m.busBatches.WithLabelValues(dirSent).Inc()
	if err != nil {
		r.svc.m.errors.WithLabelValues(opBus).Inc()
	}
}

// fromBus merges another hub's batch: its users are shown at this room's
// next tick.
func (r *room) fromBus(body []byte) {
	var b busBatch
	if err := json.Unmarshal(body, &b); err != nil || b.Hub == "" {
		r.svc.m.errors.WithLabelValues(opBus).Inc()
		return
	}
	if b.Hub == r.svc.instance {
		return // our own, echoed
	}
	r.svc.m.busBatches.WithLabelValues(dirReceived).Inc()
	now := r.svc.cfg.Clock.Now()
	r.lock()
	defer r.unlock()
	if r.stopped {
		return
	}
	for _, c := range b.Cursors {
		if c.User == "" {
			continue
		}
		bu := busUser{name: c.Name, pos: c.Pos, at: c.At.UTC(), expires: now.Add(r.svc.busTTL())}
		if isNullPos(bu.pos) {
			bu.pos = nil
		}
		r.busSeen[c.User] = bu
		r.showRemote(c.User, bu.name, bu.pos, bu.at)
	}
	for _, u := range b.Left {
		delete(r.busSeen, u)
		if _, inStore := r.remote[u]; !inStore && r.localUsers[u] == 0 {
			r.markGone(u)
		}
	}
}

// showRemote shows a user of another hub at pos, unless the view holds a
// newer position. Called with the lock held.
func (r *room) showRemote(u, name string, pos json.RawMessage, at time.Time) {
	p, present := r.view[u]
	switch {
	case !present:
		r.arrive(u, &presence{name: name, pos: pos, at: at})
	case pos != nil && !bytes.Equal(pos, p.pos) && !at.Before(p.at):
		p.pos, p.at, p.name = pos, at, name
		r.touch(u)
	}
}

// onBus reports a user the bus still shows present. Called with the lock
// held.
func (r *room) onBus(u string, now time.Time) bool {
	bu, ok := r.busSeen[u]
	return ok && bu.expires.After(now)
}

// expireBus forgets bus users not heard of for busTTL; those the store and
// this hub do not show either are gone. Called with the lock held.
func (r *room) expireBus(now time.Time) {
	for u, bu := range r.busSeen {
		if bu.expires.After(now) {
			continue
		}
		delete(r.busSeen, u)
		if _, inStore := r.remote[u]; !inStore && r.localUsers[u] == 0 {
			r.markGone(u)
		}
	}
}

func isNullPos(p json.RawMessage) bool { return len(p) == 0 || string(p) == "null" }
