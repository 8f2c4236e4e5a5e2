package hub

import (
	"context"
	"errors"
	"os"

	"github.com/coder/websocket"

	"hotrow/hub/wire"
)

// disconnect is why a socket ends: the close frame the client gets, if any,
// whether what is already queued is written first, and the bounded label
// it is counted under in hotrow_ws_disconnects_total. Every end of a socket
// goes through conn.disconnect with one of the values below, and only the
// first one for a socket counts: a close the server begins is not counted
// again as "client" when the peer then hangs up.
type disconnect struct {
	code   websocket.StatusCode // 0: no close frame (the peer is gone or was told already)
	reason string               // the close frame's reason text
	flush  bool                 // write the frames already queued before the close frame
	label  string               // hotrow_ws_disconnects_total{reason}
}

var (
	// disconnectClient: the client closed the socket or the connection
	// dropped; coder/websocket answers a client's close frame itself.
	disconnectClient = disconnect{label: "client"}
	// disconnectTooBig: the client sent a frame over the read limit;
	// coder/websocket has already closed the socket with 1009.
	disconnectTooBig = disconnect{label: "too_big"}
	// disconnectInvalidUTF8: the client sent a text frame that is not
	// UTF-8 (RFC 6455 requires failing the connection, with 1007).
	disconnectInvalidUTF8 = disconnect{code: wire.CloseInvalidPayload,
		reason: "a text frame was not valid UTF-8", label: "invalid_utf8"}
	// disconnectTokenExpired: the socket's token expired without renewal;
	// the client was told (token_expired) just before.
	disconnectTokenExpired = disconnect{code: wire.CloseTokenExpired,
		reason: "token expired", flush: true, label: "token_expired"}
	// disconnectSlowConsumer: the socket could not take a frame that may not
	// be dropped. What is queued is discarded: the client catches up by
	// re-joining with since.
	disconnectSlowConsumer = disconnect{code: wire.ClosePolicy,
		reason: "slow consumer: reconnect and re-join with since", label: "slow_consumer"}
	// disconnectShutdown: the hub is draining.
	disconnectShutdown = disconnect{code: wire.CloseServiceRestart,
		reason: "server restarting: reconnect and re-join with since", flush: true, label: "shutdown"}
	// disconnectResync: a room lost track of its event log and dropped its
	// sockets (rooms.Subscriber.Close); the room gives the code and text.
	disconnectResync = disconnect{code: wire.CloseServiceRestart,
		reason: "room resync: re-join with since", flush: true, label: "resync"}
	// disconnectError: writing to the socket failed or timed out, so it
	// cannot carry a close frame either.
	disconnectError = disconnect{label: "error"}
	// disconnectNoPong: the client did not answer a keepalive ping within
	// PongWait (keepalive.go); a peer that is gone cannot read a close
	// frame, so none is written.
	disconnectNoPong = disconnect{label: "keepalive"}
)

// disconnects are every disconnect reason, exported at zero from the start.
var disconnects = []disconnect{disconnectClient, disconnectTooBig, disconnectInvalidUTF8, disconnectSlowConsumer,
	disconnectTokenExpired, disconnectShutdown, disconnectResync, disconnectError}

// disconnect ends the socket for d unless it is already ending: from here on
// it takes no frames, and the writer writes what d says and closes. It never
// blocks, so rooms and the read loop may call it.
func (c *conn) disconnect(d disconnect) {
	closed, start := c.q.close(d)
	if start {
		go c.writer()
	}
	if !closed {
		return
	}
	c.hub.m.disconnects.WithLabelValues(d.label).Inc()
	if d.label == disconnectSlowConsumer.label {
		frames, bytes := c.q.size()
		c.hub.cfg.Logger.Info("closing slow consumer", "user", c.id.User, "waiting_frames", frames, "waiting_bytes", bytes)
	}
}

// writeFailure is the disconnect for a failed write: an error, unless the
// read loop had already seen the client go (readEnded) and the write failed
// only because of it. A write that ran out of time is always an error.
func writeFailure(err error, readEnded bool) disconnect {
	timedOut := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
	if readEnded && !timedOut {
		return disconnectClient
	}
	return disconnectError
}
