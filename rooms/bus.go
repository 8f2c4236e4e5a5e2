package rooms

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"hotrow/hub/wire"
)

// Bus carries committed events between the hubs that share a store
// (DESIGN decision 10): after a commit the committing hub publishes the
// event, and every hub with subscribers in the room gets it at once instead
// of at its next poll. The store stays the truth. A message that is lost,
// late, repeated or out of order costs latency, never an event or an order:
// the sequencer delivers in version order, drops what it already has, and
// fills any gap from the event log; polling the log stays as the safety net.
// The NATS implementation is package rooms/bus/natsbus.
type Bus interface {
	// PublishEvent sends one committed event. It must not wait on the
	// network for long: an error means the event was not sent, and other
	// hubs learn of it from the log.
	PublishEvent(ev BusEvent) error
	// SubscribeEvents hands every event published for room to fn, on a
	// goroutine of the bus's own, until cancel is called.
	SubscribeEvents(room string, fn func(BusEvent)) (cancel func(), err error)
	// Up reports whether the bus is connected. While it is not, rooms poll
	// the log at the fast interval.
	Up() bool
}

// BusEvent is one committed event as it travels between hubs.
type BusEvent struct {
	Room    string
	Version int64
	// Frame is the event's wire frame, byte for byte what the committing
	// hub's own subscribers got.
	Frame []byte
	// Sent is when the publishing hub sent it, by that hub's clock.
	Sent time.Time
}

var errBadBusEvent = errors.New("malformed bus event")

// decodeBusEvent turns a frame received from the bus back into the Event it
// was made from, keeping the frame so subscribers get the same bytes.
func decodeBusEvent(m BusEvent) (Event, error) {
	var f wire.Event
	if err := json.Unmarshal(m.Frame, &f); err != nil {
		return Event{}, fmt.Errorf("%w: %v", errBadBusEvent, err)
	}
	if f.Type != "event" || f.Room != m.Room || f.Version != m.Version || f.Version <= 0 {
		return Event{}, fmt.Errorf("%w: frame says %s %s v%d, envelope %s v%d", errBadBusEvent,
			f.Type, f.Room, f.Version, m.Room, m.Version)
	}
	return Event{Room: f.Room, Version: f.Version, Kind: f.Kind, By: f.By, At: f.At, Data: f.Data,
		State: f.State, frame: m.Frame}, nil
}

// fromBus hands an event received from the bus to s, the sequencer that
// subscribed, unless s has it already or has retired. A full inbox drops it:
// the room is busy, and its next commit, the next bus event or the poll
// fills the gap from the log.
func (r *Registry) fromBus(s *sequencer, m BusEvent) {
	r.m.busLag.Observe(max(0, r.cfg.Clock.Now().Sub(m.Sent).Seconds()))
	ev, err := decodeBusEvent(m)
	if err != nil {
		r.m.received(recvMalformed)
		r.cfg.Logger.Warn("dropping a malformed event from the bus", "room", s.room, "err", err)
		return
	}
	if ev.Version <= s.known.Load() {
		r.m.received(recvDuplicate)
		return
	}
	r.mu.Lock()
	if r.draining || r.live[s.room] != s {
		r.mu.Unlock()
		r.m.received(recvDropped)
		return
	}
	s.refs++
	r.mu.Unlock()
	defer r.release(s)
	if !s.offerBus(request{kind: reqBus, ev: &ev}) {
		r.m.received(recvDropped)
	}
}

// offerBus queues req without waiting, reporting false when the inbox is
// full.
func (s *sequencer) offerBus(req request) bool { return s.inbox.offer(req) }

// onlyBus reports whether a batch taken from the inbox holds nothing but
// events received on the bus: other hubs' activity, which does not postpone
// a room's retirement here.
func onlyBus(batch []request) bool {
	for _, req := range batch {
		if req.kind != reqBus {
			return false
		}
	}
	return true
}

// subscribeBus subscribes s to its room's events on the bus, once: from a
// room's first subscriber until it retires.
func (s *sequencer) subscribeBus() {
	b := s.reg.cfg.Bus
	if b == nil || s.busCancel != nil {
		return
	}
	cancel, err := b.SubscribeEvents(s.room, func(m BusEvent) { s.reg.fromBus(s, m) })
	if err != nil {
		s.reg.cfg.Logger.Warn("subscribing to the room on the bus failed; polling keeps it current", "room", s.room, "err", err)
		return
	}
	s.busCancel = cancel
}

func (s *sequencer) unsubscribeBus() {
	if s.busCancel != nil {
		s.busCancel()
		s.busCancel = nil
	}
}

// publish sends an event this hub committed to the other hubs.
func (s *sequencer) publish(ev Event) {
	b := s.reg.cfg.Bus
	if b == nil {
		return
	}
	err := b.PublishEvent(BusEvent{Room: ev.Room, Version: ev.Version, Frame: ev.Frame(), Sent: s.clock().Now()})
	s.reg.m.published(err)
	if err != nil {
		s.reg.cfg.Logger.Debug("publishing an event on the bus failed; other hubs will poll it", "room", s.room, "version", ev.Version, "err", err)
	}
}
