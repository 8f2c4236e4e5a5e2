// Package wire is hotrow's WebSocket contract, version 1 (docs/protocol.md): the
// frames a client sends and the frames the server sends, as Go types. It only
// grows: fields and types are added, never renamed or removed.
package wire

import (
	"encoding/json"
	"time"
)

// Client to server.

// Inbound is any client frame; fields unused by a type are ignored. A room
// kind's mutation (bid, edit) carries its payload in a field the kind
// names (amount, op); the hub hands that field's raw JSON to the room.
type Inbound struct {
	Type  string          `json:"type"`
	Ref   string          `json:"ref,omitempty"`
	Room  string          `json:"room,omitempty"`
	Since *int64          `json:"since,omitempty"`
	ID    string          `json:"id,omitempty"`
	Pos   json.RawMessage `json:"pos,omitempty"`
	Token string          `json:"token,omitempty"` // refresh: the new token
}

// Client message types.
const (
	TypeJoin   = "join"
	TypeLeave  = "leave"
	TypeBid    = "bid"  // an auction room's mutation
	TypeEdit   = "edit" // a schema document room's mutation
	TypeCursor = "cursor"
	TypePing   = "ping"
	// TypeRefresh renews the socket's token in-band: Inbound.Token.
	TypeRefresh = "refresh"
)

// HubTypes are the client message types the hub answers itself, whatever
// the room kind. Room kinds add their mutation types (bid, edit) to these,
// and may not reuse one of them.
var HubTypes = []string{TypeJoin, TypeLeave, TypeCursor, TypePing, TypeRefresh}

// Server to client.

// Welcome is the first frame on every socket.
type Welcome struct {
	Type   string `json:"type"` // "welcome"
	User   string `json:"user"`
	Hub    string `json:"hub"`
	Server string `json:"server"`
	// Exp is when the socket's token expires (absent without tokens):
	// renew it before then with refresh.
	Exp *time.Time `json:"exp,omitempty"`
}

// Refreshed answers refresh: the socket now holds the new token, which
// expires at Exp.
type Refreshed struct {
	Type string    `json:"type"` // "refreshed"
	Ref  string    `json:"ref,omitempty"`
	Exp  time.Time `json:"exp"`
}

// Joined answers join. State is set, or Recovered is true and the missed
// events follow.
type Joined struct {
	Type      string `json:"type"` // "joined"
	Ref       string `json:"ref,omitempty"`
	Room      string `json:"room"`
	Version   int64  `json:"version"`
	State     any    `json:"state,omitempty"`
	Recovered bool   `json:"recovered,omitempty"`
}

// Left answers leave.
type Left struct {
	Type string `json:"type"` // "left"
	Ref  string `json:"ref,omitempty"`
	Room string `json:"room"`
}

// Event is one committed mutation of a room.
type Event struct {
	Type    string          `json:"type"` // "event"
	Room    string          `json:"room"`
	Version int64           `json:"version"`
	Kind    string          `json:"kind"`
	By      string          `json:"by"`
	At      time.Time       `json:"at"`
	Data    json.RawMessage `json:"data"`
	State   json.RawMessage `json:"state,omitempty"`
}

// Ack says a mutation committed as Version.
type Ack struct {
	Type     string `json:"type"` // "ack"
	Ref      string `json:"ref,omitempty"`
	ID       string `json:"id"`
	Room     string `json:"room"`
	Version  int64  `json:"version"`
	Attempts int    `json:"attempts"`
}

// Reject says a mutation had no effect.
type Reject struct {
	Type    string `json:"type"` // "reject"
	Ref     string `json:"ref,omitempty"`
	ID      string `json:"id"`
	Room    string `json:"room"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Min is the lowest acceptable bid, with reason bid_too_low.
	Min string `json:"min,omitempty"`
	// Current is the entity as committed, with reason stale.
	Current any `json:"current,omitempty"`
}

// Cursors is a batch of cursor changes in a room: at most one per room per
// tick, holding only what changed since the previous one (a late joiner's
// first one holds everyone). Gone lists users whose cursor expired or who
// left. Both lists are always present (possibly empty).
type Cursors struct {
	Type    string   `json:"type"` // "cursors"
	Room    string   `json:"room"`
	Cursors []Cursor `json:"cursors"`
	Gone    []string `json:"gone"`
}

// Cursor is one user's cursor in a room. Pos is the client's JSON object, or
// null for a user who has not moved yet; At is when it last changed.
type Cursor struct {
	User string          `json:"user"`
	Name string          `json:"name"`
	Pos  json.RawMessage `json:"pos"`
	At   time.Time       `json:"at"`
}

// Presence is how many users are in a room (docs/protocol.md, "Cursors and
// presence"): everyone, on every hub, whether or not a cursors frame lists
// them. A socket gets it right after joining, then whenever it changed, at
// most about once a second (less often in rooms of thousands).
type Presence struct {
	Type  string `json:"type"` // "presence"
	Room  string `json:"room"`
	Count int    `json:"count"`
}

// Batch holds several frames for one socket, in order; only for sockets
// that asked for batches (docs/protocol.md, "Connection options"). The hub
// writes it without encoding it, around frames already encoded.
type Batch struct {
	Type   string            `json:"type"` // "batch"
	Frames []json.RawMessage `json:"frames"`
}

// Pong answers ping.
type Pong struct {
	Type string `json:"type"` // "pong"
	Ref  string `json:"ref,omitempty"`
}

// Error answers a frame the server could not act on; the socket stays open.
type Error struct {
	Type    string `json:"type"` // "error"
	Ref     string `json:"ref,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeRateLimited  = "rate_limited"
	CodeTooLarge     = "too_large"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
	// CodeTokenExpired: the socket's token expired; the socket closes with
	// 4001.
	CodeTokenExpired = "token_expired"
)

// Close codes.
const (
	CloseInvalidPayload = 1007 // a text frame that is not valid UTF-8
	ClosePolicy         = 1008 // slow consumer, flooding
	CloseTooBig         = 1009 // a frame over the read limit
	CloseServiceRestart = 1012 // draining or restarting: reconnect and re-join with since
	CloseTokenExpired   = 4001 // the socket's token expired without renewal
)

// Encode marshals a server frame. Every frame type above marshals without
// error; a failure is a programming error and panics in tests via the caller.
func Encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(Error{Type: "error", Code: CodeInternal, Message: "could not encode a reply"})
	}
	return b
}

// ErrorFrame encodes an error frame.
func ErrorFrame(ref, code, message string) []byte {
	return Encode(Error{Type: "error", Ref: ref, Code: code, Message: message})
}
