package rooms

import (
	"errors"
	"fmt"

	"hotrow/txn"
)

// Rejection is a message that had no effect, for a reason the client can
// act on (a bid too low, a stale edit). Rules return it; the retry runner
// recognises it (txn.Rejection) and stops; the sequencer turns it into the
// reject frame.
type Rejection struct {
	Reason  string // the wire reason: "bid_too_low", "stale", ...
	Message string
	Min     string // with bid_too_low: the lowest acceptable bid
	Current any    // with stale: the entity as committed
}

func (r *Rejection) Error() string        { return r.Reason + ": " + r.Message }
func (r *Rejection) RejectReason() string { return r.Reason }

var _ txn.Rejection = (*Rejection)(nil)

// Reject makes a Rejection with a formatted message.
func Reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Reasons every room kind shares.
const (
	ReasonNotFound    = "not_found"
	ReasonUnavailable = "unavailable"
	ReasonForbidden   = "forbidden"
	// ReasonInvalidRequest: the message is not one this room takes.
	ReasonInvalidRequest = "invalid_request"
)

// FieldError is an invalid field of a request (an HTTP body, an op): the
// message names the field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErr makes a FieldError with a formatted message.
func FieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is returned for a room that does not exist.
var ErrNotFound = errors.New("room not found")

// ErrExists is returned when creating a room whose id is taken.
var ErrExists = errors.New("a room with this id already exists")

// ErrDraining is returned once the hub has begun shutting down.
var ErrDraining = errors.New("the hub is shutting down: reconnect and resend")
