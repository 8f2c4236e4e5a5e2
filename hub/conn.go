package hub

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"hotrow/hub/wire"
	"hotrow/rooms/cursors"
)

// conn is one socket: a read loop that dispatches the client's messages,
// and a write loop that drains a bounded queue of encoded frames. Rooms put
// frames on the queue without ever waiting; a socket whose queue is full is
// closed as a slow consumer (1008) instead of waited on, and recovers by
// reconnecting with since.
type conn struct {
	hub  *Hub
	ws   *websocket.Conn
	id   Identity
	out  chan []byte
	ctx  context.Context
	stop context.CancelFunc

	closeOnce sync.Once
	closed    atomic.Bool   // set once closing has begun: no new frames
	closing   chan closeReq // asks the writer to flush and close
	done      chan struct{} // closed when the writer has finished

	rooms map[string]struct{} // joined rooms; read loop only
	cur   *cursors.Conn       // nil when cursors are disabled
}

// closeHandshakeWait bounds waiting for a client's reply to our close frame.
const closeHandshakeWait = time.Second

type closeReq struct {
	code   websocket.StatusCode
	reason string
	flush  bool
}

// Send implements rooms.Subscriber: it never blocks.
func (c *conn) Send(frame []byte, droppable bool) bool {
	if c.closed.Load() || c.ctx.Err() != nil {
		return false
	}
	if droppable && len(c.out) >= cap(c.out)/2 {
		c.hub.m.dropped.WithLabelValues(dropQueueHalfFull).Inc()
		return true
	}
	select {
	case c.out <- frame:
		return true
	default:
		c.hub.m.disconnects.WithLabelValues(reasonSlowConsumer).Inc()
		c.hub.cfg.Logger.Info("closing slow consumer", "user", c.id.User, "queued", len(c.out))
		c.closeWith(wire.ClosePolicy, "slow consumer: reconnect and re-join with since", false, "")
		return false
	}
}

// Close implements rooms.Subscriber.
func (c *conn) Close(code int, reason string) {
	c.closeWith(code, reason, true, reasonResync)
}

// closeWith closes the socket once. With flush, frames already queued are
// written first (within the write timeout).
func (c *conn) closeWith(code int, reason string, flush bool, metric string) {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if metric != "" {
			c.hub.m.disconnects.WithLabelValues(metric).Inc()
		}
		c.closing <- closeReq{code: websocket.StatusCode(code), reason: reason, flush: flush}
	})
}

func (c *conn) send(frame []byte) { c.Send(frame, false) }

// writeLoop writes queued frames until the connection closes.
func (c *conn) writeLoop() {
	defer close(c.done)
	for {
		select {
		case frame := <-c.out:
			if err := c.write(frame); err != nil {
				c.stop()
				c.ws.CloseNow()
				return
			}
		case req := <-c.closing:
			// Write the close frame before cancelling the read loop's
			// context: coder/websocket tears the connection down at once
			// when a Read's context ends, which would lose the code.
			if req.flush {
				c.flush()
			}
			// Close writes the close frame and then waits for the client's
			// reply; a client that is not reading must not hold a drain, so
			// the wait is bounded and the connection dropped after it.
			closed := make(chan struct{})
			go func() { _ = c.ws.Close(req.code, req.reason); close(closed) }()
			t := time.NewTimer(closeHandshakeWait)
			select {
			case <-closed:
			case <-t.C:
			}
			t.Stop()
			c.stop()
			c.ws.CloseNow()
			return
		case <-c.ctx.Done():
			// The read loop ended (the client went away).
			c.ws.CloseNow()
			return
		}
	}
}

func (c *conn) flush() {
	for {
		select {
		case frame := <-c.out:
			if c.write(frame) != nil {
				return
			}
		default:
			return
		}
	}
}

func (c *conn) write(frame []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.hub.cfg.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

// readLoop reads and dispatches frames until the socket closes.
func (c *conn) readLoop() {
	limiter := newBucket(c.hub.cfg.RateLimit, c.hub.cfg.RateBurst, c.hub.cfg.Clock.Now())
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			switch {
			case isTooBig(err):
				c.hub.m.disconnects.WithLabelValues(reasonTooBig).Inc()
			case c.ctx.Err() == nil:
				c.hub.m.disconnects.WithLabelValues(reasonClient).Inc()
			}
			return
		}
		if typ != websocket.MessageText {
			c.send(wire.ErrorFrame("", wire.CodeBadRequest, "send text frames holding one JSON object each"))
			continue
		}
		if !limiter.allow(c.hub.cfg.Clock.Now()) {
			c.send(wire.ErrorFrame("", wire.CodeRateLimited, "too many messages: slow down"))
			continue
		}
		c.dispatch(data)
	}
}

// isTooBig reports a frame over the read limit; coder/websocket has then
// already closed the socket with 1009.
func isTooBig(err error) bool {
	return websocket.CloseStatus(err) == websocket.StatusMessageTooBig || strings.Contains(err.Error(), "read limited at")
}

// leaveAll unsubscribes from every joined room when the socket ends.
func (c *conn) leaveAll() {
	if c.cur != nil {
		c.cur.Close()
	}
	for room := range c.rooms {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = c.hub.rooms.Leave(ctx, room, c, "", false)
		cancel()
	}
}
