// Package rooms runs rooms: one sequencer goroutine per room per hub, which
// handles the room's messages one at a time, each in its own retried
// transaction, and broadcasts every committed event to the room's
// subscribers in version order with no gaps. The room kinds live in
// subpackages (auction, schema); this package knows none of their rules.
package rooms

import (
	"encoding/json"
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
