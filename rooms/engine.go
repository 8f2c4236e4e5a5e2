package rooms

import (
	"context"
	"encoding/json"
	"time"
)

// Subscriber is one socket's view of a room: a bounded, non-blocking queue.
type Subscriber interface {
	// Send queues an encoded frame without blocking. Droppable frames (cursor
	// batches) may be dropped under pressure; others never are: a subscriber
	// that cannot take one closes itself as a slow consumer. Send reports
	// false when the subscriber is gone, and the room forgets it.
	Send(frame []byte, droppable bool) bool
	// Close closes the socket with a WebSocket close code (1012 tells the
	// client to reconnect and re-join with since).
	Close(code int, reason string)
}

// Mutation is one client message that changes a room (a bid, an edit) or an
// internal one (closing an auction, with no User and no Reply).
type Mutation struct {
	Op      string          // the op's message type ("bid", "edit"), or an internal op ("close")
	ID      string          // the client's idempotency key
	User    string          // who sent it
	Ref     string          // echoed in the reply
	Payload json.RawMessage // the op-specific body (bid amount, edit op)
	Reply   Subscriber      // receives the ack or reject; nil for internal ops
}

// Outcome is what one Mutation came to.
type Outcome struct {
	// Event is the event this message committed; nil when it was rejected,
	// failed, or was a resend of a message already applied.
	Event *Event
	// Tried and Retried are the transaction attempts this message made on
	// this hub, and how many of them failed retryably (conflicts): the
	// room's activity (Registry.Hot). Both are 0 for a message answered
	// without a transaction.
	Tried, Retried int
	// Version and Attempts go into the ack.
	Version  int64
	Attempts int
	// Reject, when set, is the reply instead of an ack: the message had no
	// effect. The sequencer adds the message's id, room and ref.
	Reject *Rejection
}

// Engine is one room of one kind on this hub. Its methods are called only
// from the room's sequencer goroutine, so it needs no locks of its own.
type Engine interface {
	// Load reads the committed state. It returns ErrNotFound for a room that
	// does not exist.
	Load(ctx context.Context) (version int64, err error)
	// Apply runs one message as one retried transaction against the store.
	Apply(ctx context.Context, m *Mutation) Outcome
	// Observe applies a committed event, this hub's or another's, in version
	// order, to the cached state. An error means the event does not apply
	// (it should not happen: every committed event must); the sequencer then
	// reloads the engine from the store (Load), so that the room never
	// serves a state older than its version.
	Observe(ev Event) error
	// State is the cached state at now, for joined frames and HTTP reads.
	State(now time.Time) any
}

// Deadliner is an Engine with a time at which it wants a "close" mutation
// (an auction's ends_at). The sequencer sets a timer for it, and also closes
// on join and on HTTP reads when the time has passed.
type Deadliner interface {
	Deadline() (at time.Time, pending bool)
}

// Log is the room event log as the sequencer reads it: outside any
// mutation, to fill gaps and to replay a join with since.
type Log interface {
	// EventsAfter returns the room's events with after < version <= upto,
	// oldest first.
	EventsAfter(ctx context.Context, room string, after, upto int64) ([]Event, error)
	// Versions returns the stored version of each named room that exists.
	Versions(ctx context.Context, rooms []string) (map[string]int64, error)
}
