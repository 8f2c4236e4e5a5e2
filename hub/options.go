package hub

import (
	"errors"
	"fmt"
	"net/url"
)

// Options are what a client chose when it connected, with query parameters
// of /ws (docs/protocol.md, "Connection options"). Each changes the frames
// only for the clients that ask: without them a socket gets exactly the
// frames of version 1.
type Options struct {
	// Batch (batch=1): when several frames wait for the socket, they may
	// come as one {"type":"batch","frames":[...]} frame, in order.
	Batch bool
	// NoEventState (event_state=0): events come without their state field
	// (an auction's whole state after the event); data says what changed.
	NoEventState bool
}

// parseOptions reads the options of a /ws request.
func parseOptions(q url.Values) (Options, error) {
	batch, err1 := flagParam(q, "batch", false)
	state, err2 := flagParam(q, "event_state", true)
	return Options{Batch: batch, NoEventState: !state}, errors.Join(err1, err2)
}

// flagParam reads a 0-or-1 query parameter, def when absent.
func flagParam(q url.Values, name string, def bool) (bool, error) {
	switch v := q.Get(name); v {
	case "":
		return def, nil
	case "0", "1":
		return v == "1", nil
	default:
		return def, fmt.Errorf("the query parameter %s must be 0 or 1, not %q", name, clip(v))
	}
}
