package hub

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"hotrow/hub/wire"
	"hotrow/rooms/cursors"
)

// conn is one socket: a read loop that dispatches the client's messages,
// and a writer that drains a bounded send queue of encoded frames. Rooms put
// frames on the queue without ever waiting; a socket that cannot take a
// frame that may not be dropped is closed as a slow consumer (1008) instead
// of waited on, and recovers by reconnecting with since (see sendQueue).
type conn struct {
	hub  *Hub
	ws   *websocket.Conn
	id   Identity
	sess *session // the token's rights and expiry, renewed by refresh
	q    *sendQueue
	ctx  context.Context // the read loop's; ended when the socket is done
	stop context.CancelFunc
	done chan struct{} // closed when the writer has finished

	rooms *membership   // the rooms joined or being joined
	cur   *cursors.Conn // nil when cursors are disabled
}

// closeHandshakeWait bounds waiting for a client's reply to our close frame.
const closeHandshakeWait = time.Second

func newConn(h *Hub, ws *websocket.Conn, id Identity) *conn {
	ctx, stop := context.WithCancel(context.Background())
	return &conn{hub: h, ws: ws, id: id, sess: newSession(id), q: newSendQueue(h.cfg.SendQueue, h.cfg.SendQueueBytes, h.m.droppedHalfFull),
		ctx: ctx, stop: stop, done: make(chan struct{}), rooms: newMembership()}
}

// Send implements rooms.Subscriber: it never blocks.
func (c *conn) Send(frame []byte, droppable bool) bool {
	switch c.q.push(frame, droppable) {
	case pushQueued, pushDropped:
		return true
	case pushFull:
		c.disconnect(disconnectSlowConsumer)
	}
	return false
}

// Close implements rooms.Subscriber: the room's code and text, counted as a
// resync.
func (c *conn) Close(code int, reason string) {
	d := disconnectResync
	d.code, d.reason = websocket.StatusCode(code), reason
	c.disconnect(d)
}

func (c *conn) send(frame []byte) { c.Send(frame, false) }

// writeLoop writes queued frames until the socket is disconnected, then
// closes it as the disconnect says.
func (c *conn) writeLoop() {
	defer close(c.done)
	var batch [][]byte
	for {
		select {
		case <-c.q.wake:
		case <-c.ctx.Done():
			// The read loop ended: the client closed the socket or went
			// away (unless the server was already closing it).
			c.disconnect(disconnectClient)
			c.ws.CloseNow()
			return
		}
		batch, why, closed := c.q.take(batch)
		if len(batch) > 0 {
			err := c.writeBurst(batch)
			c.q.written(batch)
			if err != nil {
				c.disconnect(writeFailure(err, c.ctx.Err() != nil))
				c.hub.cfg.Logger.Debug("writing to a socket failed", "user", c.id.User, "err", err)
				c.stop()
				c.ws.CloseNow()
				return
			}
		}
		if closed {
			c.closeSocket(why)
			return
		}
	}
}

// writeBurst writes frames back to back under one deadline.
func (c *conn) writeBurst(frames [][]byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.hub.cfg.WriteTimeout)
	defer cancel()
	for _, f := range frames {
		if err := c.ws.Write(ctx, websocket.MessageText, f); err != nil {
			return err
		}
	}
	return nil
}

// closeSocket writes d's close frame, if it has one, and drops the
// connection.
func (c *conn) closeSocket(d disconnect) {
	if d.code != 0 {
		// Write the close frame before cancelling the read loop's context:
		// coder/websocket tears the connection down at once when a Read's
		// context ends, which would lose the code. Close writes the close
		// frame and then waits for the client's reply; a client that is not
		// reading must not hold a drain, so the wait is bounded and the
		// connection dropped after it.
		closed := make(chan struct{})
		go func() { _ = c.ws.Close(d.code, d.reason); close(closed) }()
		t := time.NewTimer(closeHandshakeWait)
		select {
		case <-closed:
		case <-t.C:
		}
		t.Stop()
	}
	c.stop()
	c.ws.CloseNow()
}

// readLoop reads and dispatches frames until the socket closes. Every
// frame, text or binary, counts against the socket's message rate.
func (c *conn) readLoop() {
	limiter := newMessageLimiter(c.hub.cfg)
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			// Any other end is counted by the writer, which knows whether a
			// write of its own failed first (the server closing the
			// connection under a timed-out write also ends this Read).
			if isTooBig(err) {
				c.disconnect(disconnectTooBig)
			}
			return
		}
		if !limiter.AllowN(c.hub.cfg.Clock.Now(), 1) {
			c.send(wire.ErrorFrame(refOf(typ, data), wire.CodeRateLimited, "too many messages: slow down"))
			continue
		}
		if typ != websocket.MessageText {
			c.send(wire.ErrorFrame("", wire.CodeBadRequest, "send text frames holding one JSON object each"))
			continue
		}
		if !utf8.Valid(data) {
			// RFC 6455 section 8.1: a text frame that is not UTF-8 fails
			// the connection, with 1007.
			c.disconnect(disconnectInvalidUTF8)
			c.discard()
			return
		}
		c.dispatch(data)
	}
}

// discard reads and drops frames until the connection ends, after the read
// loop asked for a close: the writer writes the close frame and ends the
// connection. Returning at once would end the read loop's context first,
// and the writer would drop the connection without the close frame.
func (c *conn) discard() {
	for {
		if _, _, err := c.ws.Read(c.ctx); err != nil {
			return
		}
	}
}

// isTooBig reports a frame over the read limit; coder/websocket has then
// already closed the socket with 1009.
func isTooBig(err error) bool {
	return websocket.CloseStatus(err) == websocket.StatusMessageTooBig || strings.Contains(err.Error(), "read limited at")
}

// leaveAll unsubscribes from every joined room when the socket ends.
func (c *conn) leaveAll() {
	for _, room := range c.rooms.close(c.cursorClose) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = c.hub.rooms.Leave(ctx, room, c, "", false)
		cancel()
	}
}
