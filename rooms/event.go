// Package rooms runs rooms: one sequencer goroutine per room per hub, which
// handles the room's messages one at a time, each in its own retried
// transaction, and broadcasts every committed event to the room's
// subscribers in version order with no gaps. The room kinds live in
// subpackages (auction, schema); this package knows none of their rules.
package rooms

import (
	"encoding/json"
	"sync"
	"time"

	"hotrow/hub/wire"
)

// Event is one committed mutation of a room, as stored in the event log
// (written in the transaction that makes the change) and as broadcast.
type Event struct {
	Room    string
	Version int64
	Kind    string
	By      string
	At      time.Time
	Data    json.RawMessage
	State   json.RawMessage // optional: the room's full state after the event

	frame []byte // the encoded frame, when known (received from the bus)
}

// Frame encodes the event as the wire frame every subscriber receives.
func (e Event) Frame() []byte {
	if e.frame != nil {
		return e.frame
	}
	return wire.Encode(wire.Event{Type: "event", Room: e.Room, Version: e.Version, Kind: e.Kind,
		By: e.By, At: e.At.UTC(), Data: e.Data, State: e.State})
}

// Applied is a stored idempotency record: the message (room, user, id)
// committed as Version after Attempts attempts.
type Applied struct {
	Version  int64
	Attempts int
}

// EventFrame is an event encoded for the wire once per room, in each form a
// subscriber may have asked for (docs/protocol.md, "Connection options"):
// Full, as every client gets it by default, and, encoded on first use,
// without the state field, for clients that opted out of it.
type EventFrame struct {
	Full []byte

	ev      Event
	once    sync.Once
	noState []byte
}

// NewEventFrame encodes ev.
func NewEventFrame(ev Event) *EventFrame {
	return &EventFrame{Full: ev.Frame(), ev: ev}
}

// NoState is the frame without the state field (Full when the event has
// none).
func (f *EventFrame) NoState() []byte {
	f.once.Do(func() {
		if len(f.ev.State) == 0 {
			f.noState = f.Full
			return
		}
		ev := f.ev
		ev.State, ev.frame = nil, nil // a frame from the bus carries the state
		f.noState = ev.Frame()
	})
	return f.noState
}

// EventSubscriber is a Subscriber that picks the form of the events it
// takes (a socket that opted out of event state). The room hands it each
// event with SendEvent instead of Send; it reports false, as Send does,
// when it is gone.
type EventSubscriber interface {
	Subscriber
	SendEvent(f *EventFrame) bool
}

// JoinedSubscriber is a Subscriber that has something of its own to send
// right behind its joined frame (the hub: the room's presence for the
// joiner), so that both go out in one write. The room hands it a joined
// frame with the room's state with SendJoined instead of Send (a recovered
// one goes with Send: the replayed events must follow it directly); it
// reports false, as Send does, when it is gone.
type JoinedSubscriber interface {
	Subscriber
	SendJoined(room string, frame []byte) bool
}

// sendJoined hands sub its joined frame for room.
func sendJoined(sub Subscriber, room string, frame []byte) bool {
	if js, ok := sub.(JoinedSubscriber); ok {
		return js.SendJoined(room, frame)
	}
	return sub.Send(frame, false)
}

// sendEvent hands f to sub in the form it takes.
func sendEvent(sub Subscriber, f *EventFrame) bool {
	if es, ok := sub.(EventSubscriber); ok {
		return es.SendEvent(f)
	}
	return sub.Send(f.Full, false)
}
