package hub

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"hotrow/hub/wire"
	"hotrow/rooms"
	"hotrow/rooms/cursors"
)

// conn is one socket: a read loop that dispatches the client's messages,
// and a bounded send queue of encoded frames, drained by the hub's writers
// (writers.go) while there is something to write, or by a goroutine of its
// own while the client is slow to read. Rooms put frames on the queue
// without ever waiting; a socket that cannot take a frame that may
// not be dropped is closed as a slow consumer (1008) instead of waited on,
// and recovers by reconnecting with since (see sendQueue).
type conn struct {
	id    Identity
	sess  *session // the token's rights and expiry, renewed by refresh
	addr  string   // the client's address: its admission slot is given back at the end
	ws    *websocket.Conn
	done  chan struct{} // closed when the socket is closed, by the last writer
	rooms *membership   // the rooms joined or being joined
	cur   *cursors.Conn // nil when cursors are disabled

	readEnded atomic.Bool // the read loop has returned
	alive     liveness    // keepalive (keepalive.go)

	// What the writers and the rooms' fan-out touch for every frame, last,
	// next to the queue and the connection (see connMem).
	hub  *Hub
	opts Options
	q    *sendQueue
	nc   *netConn // the connection under ws: the writer writes frames to it
}

// connMem is a socket's conn, send queue and connection, allocated as one:
// a fan-out touches all three for every socket it writes to, and with
// thousands of sockets each touch is a cache miss; side by side, the
// processor fetches neighbouring lines together.
type connMem struct {
	conn
	q  sendQueue
	nc netConn
}

// closeHandshakeWait bounds waiting for a client's reply to our close frame.
const closeHandshakeWait = time.Second

func newConn(h *Hub, ws *websocket.Conn, id Identity) *conn {
	m := &connMem{}
	m.q.init(h.cfg.SendQueue, h.cfg.SendQueueBytes, h.m.droppedHalfFull)
	m.conn = conn{hub: h, ws: ws, id: id, sess: newSession(id), q: &m.q, nc: &m.nc,
		done: make(chan struct{}), rooms: newMembership()}
	return &m.conn
}

// Send implements rooms.Subscriber: it never blocks.
func (c *conn) Send(frame []byte, droppable bool) bool {
	res, start := c.q.push(frame, droppable)
	if start {
		c.hub.pool.enqueue(c)
	}
	return c.pushed(res)
}

// pushed reports whether the socket took a frame, or lives on without it
// (a dropped cursor frame); a socket that cannot take a frame that may not
// be dropped is closed as a slow consumer.
func (c *conn) pushed(res pushResult) bool {
	switch res {
	case pushQueued, pushDropped:
		return true
	case pushFull:
		c.disconnect(disconnectSlowConsumer)
	}
	return false
}

// SendJoined implements rooms.JoinedSubscriber: the joined frame, and right
// behind it the room's presence for the joiner (cursors.Conn.Greet), queued
// before a writer can take either, so that they go out in one write.
func (c *conn) SendJoined(room string, frame []byte) bool {
	res, start := c.q.push(frame, false)
	if res == pushQueued && c.cur != nil {
		// The socket's writer is not started yet (start), or is busy with
		// what was queued before: either way it takes the greeting with
		// the joined frame.
		c.cur.Greet(room)
	}
	if start {
		c.hub.pool.enqueue(c)
	}
	return c.pushed(res)
}

// SendLazy implements cursors.LazyPeer: a droppable frame (a presence
// count) that goes out with the socket's next write, or at the latest after
// lazyDelay. In a busy room a count thus rides with the next event instead of
// costing every socket a write of its own (hub/lazy.go).
func (c *conn) SendLazy(frame []byte) bool {
	res, later := c.q.pushLazy(frame)
	if later {
		c.hub.lazy.add(c)
	}
	return res == pushQueued || res == pushDropped
}

// SendEvent implements rooms.EventSubscriber: the event in the form the
// client asked for.
func (c *conn) SendEvent(f *rooms.EventFrame) bool {
	if c.opts.NoEventState {
		return c.Send(f.NoState(), false)
	}
	return c.Send(f.Full, false)
}

// Close implements rooms.Subscriber: the room's code and text, counted as a
// resync.
func (c *conn) Close(code int, reason string) {
	d := disconnectResync
	d.code, d.reason = websocket.StatusCode(code), reason
	c.disconnect(d)
}

func (c *conn) send(frame []byte) { c.Send(frame, false) }

// writer is a socket's own writer goroutine, for when the hub's writers
// cannot serve it without waiting (writers.go): it writes queued frames,
// burst after burst, waiting for the client under the write deadline,
// until the queue is empty (then it ends, and the next frame goes to the
// hub's writers again) or closed (then it closes the socket as the
// disconnect says).
func (c *conn) writer() {
	batch, why, closed, idle := c.q.take(nil)
	if !idle {
		c.writerFrom(batch, why, closed)
	}
}

// writerFrom is writer, with a first burst already taken.
func (c *conn) writerFrom(batch [][]byte, why disconnect, closed bool) {
	for {
		if len(batch) > 0 {
			err := c.writeBurst(batch)
			c.q.written(batch)
			if err != nil {
				c.writeFailed(err)
				return
			}
		}
		if closed {
			c.closeSocket(why)
			c.finish()
			return
		}
		var idle bool
		batch, why, closed, idle = c.q.take(batch)
		if idle {
			return
		}
	}
}

// writerAfter is writer, first finishing a burst the hub's writers began:
// rest is what the client had no room for yet.
func (c *conn) writerAfter(rest []byte, batch [][]byte) {
	err := c.nc.writeAll(rest, c.hub.cfg.WriteTimeout)
	c.q.written(batch)
	if err != nil {
		c.writeFailed(err)
		return
	}
	c.writer()
}

// writeFailed ends a socket whose write failed or timed out.
func (c *conn) writeFailed(err error) {
	c.disconnect(writeFailure(err, c.readEnded.Load()))
	c.hub.cfg.Logger.Debug("writing to a socket failed", "user", c.id.User, "err", err)
	c.finish()
}

// finish drops the connection (ending the read loop, if it still runs) and
// tells the socket's owner it is closed. Only the writer that handled the
// close, or failed, calls it: no writer starts after a close.
func (c *conn) finish() {
	// The connection itself, not ws.CloseNow: after a close frame whose
	// answer did not come, coder/websocket's Close still waits (up to 5s)
	// for the read loop, and CloseNow would wait for Close.
	if c.readEnded.Load() {
		// Nobody reads the connection any more: what the client is still
		// sending (the rest of a frame over the read limit) is drained
		// before the close, so its kernel does not answer our close frame
		// with a reset the client sees instead of the close code.
		go linger(c.nc, closeHandshakeWait)
	} else {
		_ = c.nc.Close()
	}
	close(c.done)
}

// closeWrite half-closes c where it can be (TCP); elsewhere it does
// nothing.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// linger half-closes conn, discards what still arrives for at most wait,
// then closes it.
func linger(conn net.Conn, wait time.Duration) {
	_ = closeWrite(conn)
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	_, _ = io.Copy(io.Discard, conn)
	_ = conn.Close()
}

// closeSocket writes d's close frame, if it has one, and drops the
// connection.
func (c *conn) closeSocket(d disconnect) {
	if d.code != 0 {
		// Close writes the close frame and then waits for the client's
		// reply; a client that is not reading must not hold a drain, so the
		// wait is bounded and the connection dropped after it.
		closed := make(chan struct{})
		go func() { _ = c.ws.Close(d.code, d.reason); close(closed) }()
		t := time.NewTimer(closeHandshakeWait)
		select {
		case <-closed:
		case <-t.C:
		}
		t.Stop()
	}
}

// readLoop reads and dispatches frames until the socket closes. Every
// frame, text or binary, counts against the socket's message rate.
func (c *conn) readLoop() {
	limiter := newMessageLimiter(c.hub.cfg)
	// The read is ended by closing the connection, never by a context: a
	// context per read would cost every idle socket a registration.
	ctx := context.Background()
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			// Any other end is counted by the writer, which knows whether a
			// write of its own failed first (the server closing the
			// connection under a timed-out write also ends this Read).
			c.readEnded.Store(true)
			if isTooBig(err) {
				c.disconnect(disconnectTooBig)
			}
			return
		}
		c.alive.heard()
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
// connection. Returning at once would let the socket be torn down before the
// writer has written the close frame.
func (c *conn) discard() {
	for {
		if _, _, err := c.ws.Read(context.Background()); err != nil {
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
