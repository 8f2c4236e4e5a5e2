package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"hotrow/hub/wire"
	"hotrow/internal/clock"
)

type reqKind int

const (
	reqJoin reqKind = iota + 1
	reqLeave
	reqMutate
	reqSnapshot
	reqCatchUp
	reqBus
)

type request struct {
	kind  reqKind
	sub   Subscriber
	since *int64
	ref   string
	reply bool
	m     *Mutation
	snap  chan snapshot
	upto  int64
	done  func(joined bool) // a join's outcome, for the hub
	ev    *Event            // reqBus: another hub's commit, received on the bus
}

// joined reports a join's outcome to whoever asked for it.
func (req request) joined(ok bool) {
	if req.done != nil {
		req.done(ok)
	}
}

type snapshot struct {
	version int64
	state   any
	err     error
}

// sequencer is the one goroutine that handles a room's messages on this
// hub, one at a time, and broadcasts its committed events in order.
type sequencer struct {
	reg    *Registry
	room   string
	kind   string
	engine Engine
	inbox  *inbox

	refs    int          // guarded by reg.mu
	known   atomic.Int64 // the newest version broadcast here
	watched atomic.Bool  // has subscribers: the poller keeps it current

	subscribers atomic.Int64 // how many, for Registry.Hot
	activity    activity     // transaction attempts and conflicts over the last minute

	subs      map[Subscriber]struct{}
	busCancel func() // set while subscribed to the room on the bus
	broken    error  // set when the room cannot be served (not found, store down)
	deadline  clock.Timer
	idle      clock.Timer
}

func newSequencer(r *Registry, room, kind string, e Engine) *sequencer {
	return &sequencer{reg: r, room: room, kind: kind, engine: e,
		inbox: newInbox(r.cfg.InboxSize), subs: map[Subscriber]struct{}{}}
}

func (s *sequencer) clock() clock.Clock { return s.reg.cfg.Clock }

func (s *sequencer) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.reg.cfg.OpTimeout)
}

func (s *sequencer) run() {
	defer s.reg.wg.Done()
	defer s.stopTimers()
	defer s.unsubscribeBus()
	ctx, cancel := s.opCtx()
	v, err := s.engine.Load(ctx)
	cancel()
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.reg.cfg.Logger.Error("loading room failed", "room", s.room, "err", err)
		}
		s.broken = err
	} else {
		s.known.Store(v)
		s.armDeadline()
	}
	var batch []request
	for {
		var idleC, deadlineC <-chan time.Time
		if s.idle != nil {
			idleC = s.idle.C()
		}
		if s.deadline != nil {
			deadlineC = s.deadline.C()
		}
		select {
		case <-s.inbox.wake:
			batch = s.inbox.take(batch)
			s.handleAll(batch)
			s.upkeep()
			// Activity postpones retirement: the idle time counts from the
			// last message handled. Other hubs' commits arriving on the bus
			// are not this hub's activity: a room nobody here watches any
			// more retires (and unsubscribes) however busy it is elsewhere.
			if s.idle != nil && !onlyBus(batch) {
				s.idle.Stop()
				s.idle = nil
			}
			// Handled: until the next batch, hold no request, so that the
			// socket of a leave is not kept alive by its room.
			clear(batch)
		case <-deadlineC:
			s.deadline = nil
			if !s.draining() {
				s.closeIfDue()
				// Not due after all (or closed): keep a timer for the
				// deadline the engine holds now, if any.
				if s.deadline == nil {
					s.armDeadline()
				}
			}
		case <-idleC:
			s.idle = nil
			if s.reg.retire(s) {
				return
			}
		case <-s.reg.stop:
			s.drainOut()
			return
		}
		s.armIdle()
	}
}

// draining reports whether the hub has begun draining.
func (s *sequencer) draining() bool {
	select {
	case <-s.reg.stop:
		return true
	default:
		return false
	}
}

// armIdle starts the idle timer when nothing is subscribed, and stops it
// otherwise. A broken room retires at once.
func (s *sequencer) armIdle() {
	s.watched.Store(len(s.subs) > 0)
	s.subscribers.Store(int64(len(s.subs)))
	if len(s.subs) > 0 {
		if s.idle != nil {
			s.idle.Stop()
			s.idle = nil
		}
		return
	}
	if s.idle == nil {
		d := s.reg.cfg.IdleTimeout
		if s.broken != nil {
			d = 0
		}
		s.idle = s.clock().NewTimer(d)
	}
}

func (s *sequencer) stopTimers() {
	if s.idle != nil {
		s.idle.Stop()
	}
	if s.deadline != nil {
		s.deadline.Stop()
	}
}

// drainOut answers everything still queued with unavailable and exits once
// no sender holds a reference.
func (s *sequencer) drainOut() {
	s.broken = ErrDraining
	var batch []request
	for !s.reg.retire(s) {
		select {
		case <-s.inbox.wake:
			batch = s.inbox.take(batch)
			for _, req := range batch {
				s.handle(req)
			}
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (s *sequencer) handle(req request) {
	if s.broken != nil {
		s.refuse(req)
		return
	}
	switch req.kind {
	case reqJoin:
		s.join([]request{req})
	case reqLeave:
		delete(s.subs, req.sub)
		if req.reply {
			req.sub.Send(wire.Encode(wire.Left{Type: "left", Ref: req.ref, Room: s.room}), false)
		}
	case reqMutate:
		s.mutate(req.m)
	case reqSnapshot:
		s.catchUp()
		s.closeIfDue()
		req.snap <- snapshot{version: s.known.Load(), state: s.engine.State(s.clock().Now())}
	case reqCatchUp:
		s.fill(req.upto)
	case reqBus:
		s.deliver(*req.ev, sourceBus)
	}
}

// upkeeper is an engine whose memory of the room must be kept bounded as
// the room grows: the Committer every kind embeds has these methods.
type upkeeper interface {
	UpkeepDue(known int64) bool
	Upkeep(ctx context.Context, known int64)
}

// upkeep gives the engine its turn to keep its memory bounded, when due.
func (s *sequencer) upkeep() {
	u, ok := s.engine.(upkeeper)
	if !ok || s.broken != nil || !u.UpkeepDue(s.known.Load()) {
		return
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	u.Upkeep(ctx, s.known.Load())
}

// refuse answers a request on a room that cannot be served.
func (s *sequencer) refuse(req request) {
	code, msg := wire.CodeUnavailable, "the room cannot be loaded right now; try again"
	reason := "unavailable"
	switch {
	case errors.Is(s.broken, ErrNotFound):
		code, reason, msg = wire.CodeNotFound, "not_found", fmt.Sprintf("room %s does not exist", s.room)
	case errors.Is(s.broken, ErrDraining):
		msg = ErrDraining.Error()
	}
	switch req.kind {
	case reqJoin:
		req.sub.Send(wire.ErrorFrame(req.ref, code, msg), false)
		req.joined(false)
	case reqLeave:
		if req.reply {
			req.sub.Send(wire.Encode(wire.Left{Type: "left", Ref: req.ref, Room: s.room}), false)
		}
	case reqMutate:
		if req.m.Reply != nil {
			req.m.Reply.Send(wire.Encode(wire.Reject{Type: "reject", Ref: req.m.Ref, ID: req.m.ID,
				Room: s.room, Reason: reason, Message: msg}), false)
		}
	case reqSnapshot:
		err := s.broken
		if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrDraining) {
			err = fmt.Errorf("room %s: %w", s.room, err)
		}
		req.snap <- snapshot{err: err}
	}
}

// maxJoinBatch bounds how many queued joins one catch-up serves.
const maxJoinBatch = 256

// handleAll handles a batch taken from the inbox, in order. Joins queued
// next to each other are answered together, so that a storm of joins costs
// one catch-up with the store, not one each.
func (s *sequencer) handleAll(batch []request) {
	for i := 0; i < len(batch); {
		// select picks at random among ready cases: once the hub drains, a
		// queued message must be refused, not run, even when the inbox was
		// chosen over stop.
		if s.draining() {
			s.broken = ErrDraining
		}
		if batch[i].kind == reqJoin && s.broken == nil {
			j := i + 1
			for j < len(batch) && j-i < maxJoinBatch && batch[j].kind == reqJoin {
				j++
			}
			s.join(batch[i:j])
			i = j
			continue
		}
		s.handle(batch[i])
		i++
	}
}

// join answers joins after catching up with the store (and closing the room
// if it is due): a recovery with the events missed since a version when the
// log still has them, else the full state, encoded once for all of them.
func (s *sequencer) join(joins []request) {
	// Subscribed first, so whatever commits after the catch-up below comes
	// on the bus.
	s.subscribeBus()
	s.catchUp()
	s.closeIfDue()
	known := s.known.Load()
	var state json.RawMessage
	for _, req := range joins {
		if s.replay(req, known) {
			continue
		}
		if state == nil {
			state, _ = json.Marshal(s.engine.State(s.clock().Now()))
		}
		frame := wire.Encode(wire.Joined{Type: "joined", Ref: req.ref, Room: s.room, Version: known, State: state})
		// The hub learns of the join before the client can: a cursor the
		// client sends on reading joined must find the room joined.
		req.joined(true)
		if sendJoined(req.sub, s.room, frame) {
			s.subs[req.sub] = struct{}{}
		} else {
			req.joined(false)
		}
	}
}

// replay answers a join with since by the events missed since, when the log
// still holds them all; it reports whether it answered.
func (s *sequencer) replay(req request, known int64) bool {
	if since := req.since; since != nil && *since > 0 && *since <= known && known-*since <= s.reg.cfg.MaxReplay {
		ctx, cancel := s.opCtx()
		evs, err := s.reg.log.EventsAfter(ctx, s.room, *since, known)
		cancel()
		if err == nil && int64(len(evs)) == known-*since {
			req.joined(true) // before the client can read joined, as in join
			// Sent as is, not with sendJoined: the replayed events come
			// right after a recovered joined frame, before anything else.
			if !req.sub.Send(wire.Encode(wire.Joined{Type: "joined", Ref: req.ref, Room: s.room, Version: known, Recovered: true}), false) {
				req.joined(false)
				return true
			}
			for _, ev := range evs {
				if !sendEvent(req.sub, NewEventFrame(ev)) {
					req.joined(false)
					return true
				}
			}
			s.subs[req.sub] = struct{}{}
			return true
		}
		if err != nil {
			s.reg.cfg.Logger.Warn("replaying events for join failed; sending full state", "room", s.room, "err", err)
		}
	}
	return false
}

func (s *sequencer) mutate(m *Mutation) {
	ctx := context.Background()
	out := s.engine.Apply(ctx, m)
	s.activity.add(s.clock().Now(), out.Tried, out.Retried)
	if out.Event != nil {
		ev := *out.Event
		ev.frame = ev.Frame() // encoded once, for the bus and the subscribers
		s.publish(ev)
		s.deliver(ev, sourceCommit)
	}
	if m.Reply == nil {
		if out.Reject != nil {
			s.afterRejectedClose()
		}
		return
	}
	var frame []byte
	if r := out.Reject; r != nil {
		frame = wire.Encode(wire.Reject{Type: "reject", Ref: m.Ref, ID: m.ID, Room: s.room,
			Reason: r.Reason, Message: r.Message, Min: r.Min, Current: r.Current})
	} else {
		frame = wire.Encode(wire.Ack{Type: "ack", Ref: m.Ref, ID: m.ID, Room: s.room,
			Version: out.Version, Attempts: out.Attempts})
	}
	m.Reply.Send(frame, false)
}

// deliver broadcasts a committed event that came from source (this hub's
// commit or the bus), first filling any gap between the newest version
// broadcast here and it from the log (commits of other hubs). An event
// broadcast already is dropped.
func (s *sequencer) deliver(ev Event, source string) {
	if ev.Version <= s.known.Load() {
		if source == sourceBus {
			s.reg.m.received(recvDuplicate)
		}
		return
	}
	if ev.Version > s.known.Load()+1 {
		if source == sourceBus {
			s.reg.m.gapFills.Inc()
		}
		if !s.fill(ev.Version - 1) {
			if source == sourceBus {
				s.reg.m.received(recvDropped)
			}
			return
		}
	}
	if source == sourceBus {
		s.reg.m.received(recvDelivered)
	}
	s.broadcast(ev, source)
}

func (s *sequencer) broadcast(ev Event, source string) {
	s.reg.m.delivered.WithLabelValues(source).Inc()
	err := s.engine.Observe(ev)
	s.known.Store(ev.Version)
	frame := NewEventFrame(ev)
	for sub := range s.subs {
		if !sendEvent(sub, frame) {
			delete(s.subs, sub)
		}
	}
	if err != nil {
		s.reload(ev, err)
	}
	s.armDeadline()
}

// reload reads the room's state from the store again after the engine could
// not apply a committed event, so that it never serves a state older than
// the version it has broadcast. The event itself is committed and was
// broadcast. When the store cannot be read either, the room resynchronises.
func (s *sequencer) reload(ev Event, cause error) {
	s.reg.cfg.Logger.Error("a committed event does not apply to the room's state; reloading the room from the store",
		"room", s.room, "version", ev.Version, "kind", ev.Kind, "err", cause)
	ctx, cancel := s.opCtx()
	_, err := s.engine.Load(ctx)
	cancel()
	if err != nil {
		s.reg.cfg.Logger.Error("reloading the room failed", "room", s.room, "err", err)
		s.resync()
	}
}

// catchUp asks the store for the room's version and fills any gap.
func (s *sequencer) catchUp() {
	ctx, cancel := s.opCtx()
	vs, err := s.reg.log.Versions(ctx, []string{s.room})
	cancel()
	if err != nil {
		s.reg.cfg.Logger.Warn("reading room version failed", "room", s.room, "err", err)
		return
	}
	if v := vs[s.room]; v > s.known.Load() {
		s.fill(v)
	}
}

// fill broadcasts the stored events after the newest version known here, up
// to upto. When the log cannot be read, the room resynchronises: its
// subscribers are closed with 1012 (reconnect and re-join with since) and the
// state reloaded, so nobody ever sees a gap.
func (s *sequencer) fill(upto int64) bool {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		known := s.known.Load()
		if upto <= known {
			return true
		}
		ctx, cancel := s.opCtx()
		evs, err := s.reg.log.EventsAfter(ctx, s.room, known, upto)
		cancel()
		if err == nil {
			for _, ev := range evs {
				if ev.Version != s.known.Load()+1 {
					err = fmt.Errorf("event log of %s has version %d after %d", s.room, ev.Version, s.known.Load())
					break
				}
				s.broadcast(ev, sourceLog)
			}
			if err == nil && s.known.Load() >= upto {
				return true
			}
		}
		lastErr = err
		clock.Sleep(context.Background(), s.clock(), time.Duration(attempt+1)*50*time.Millisecond)
	}
	s.reg.cfg.Logger.Error("room lost sync with the event log; closing its sockets", "room", s.room, "err", lastErr)
	s.resync()
	return false
}

func (s *sequencer) resync() {
	for sub := range s.subs {
		sub.Close(wire.CloseServiceRestart, "room resync: re-join with since")
		delete(s.subs, sub)
	}
	ctx, cancel := s.opCtx()
	v, err := s.engine.Load(ctx)
	cancel()
	if err != nil {
		s.broken = err
		return
	}
	s.known.Store(v)
	s.armDeadline()
}

// armDeadline sets the timer for the engine's next deadline, if any.
func (s *sequencer) armDeadline() {
	d, ok := s.engine.(Deadliner)
	if !ok {
		return
	}
	if s.deadline != nil {
		s.deadline.Stop()
		s.deadline = nil
	}
	at, pending := d.Deadline()
	if !pending {
		return
	}
	s.deadline = s.clock().NewTimer(at.Sub(s.clock().Now()))
}

// closeIfDue commits the close of a room whose deadline has passed by this
// hub's clock; the transaction itself checks the database's clock.
func (s *sequencer) closeIfDue() {
	d, ok := s.engine.(Deadliner)
	if !ok {
		return
	}
	at, pending := d.Deadline()
	if !pending || s.clock().Now().Before(at) {
		return
	}
	s.mutate(&Mutation{Op: "close"})
}

// afterRejectedClose follows a close that did not commit: another hub may
// have closed the room (catching up delivers its closed event) or extended
// it (catching up moves the deadline), or the database's clock is behind
// ours, or the store failed. While the close is still pending and due it is
// tried again a little later.
func (s *sequencer) afterRejectedClose() {
	d, ok := s.engine.(Deadliner)
	if !ok {
		return
	}
	s.catchUp()
	at, pending := d.Deadline()
	if !pending {
		return
	}
	if s.clock().Now().Before(at) {
		// Catching up moved the deadline (another hub's bid extended the
		// auction): wait for the new one rather than retrying soon.
		s.armDeadline()
		return
	}
	if s.deadline != nil {
		s.deadline.Stop()
	}
	s.deadline = s.clock().NewTimer(100 * time.Millisecond)
}
