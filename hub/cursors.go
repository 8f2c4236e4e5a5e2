package hub

import (
	"errors"
	"fmt"

	"hotrow/hub/wire"
	"hotrow/rooms/cursors"
)

// cursor handles a cursor message: the socket must have joined the room;
// the room's cursor batcher sends the change to everyone at its next tick.
// There is no direct reply unless the message is refused.
func (c *conn) cursor(in wire.Inbound) {
	if c.cur == nil {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, "cursors are not enabled on this hub"))
		return
	}
	if in.Room == "" {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, "cursor needs a room"))
		return
	}
	if rights, _ := c.sess.get(); !rights.CanWatch(in.Room) || !c.rooms.joined(in.Room) {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeForbidden, fmt.Sprintf("join %s (and wait for joined) before sending cursors to it", clip(in.Room))))
		return
	}
	switch err := c.cur.Move(in.Room, in.Pos); {
	case err == nil:
	case errors.Is(err, cursors.ErrPosTooBig):
		c.send(wire.ErrorFrame(in.Ref, wire.CodeTooLarge, fmt.Sprintf("cursor pos must be at most %d bytes of JSON", cursors.MaxPos)))
	case errors.Is(err, cursors.ErrPosInvalid):
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, "cursor needs a pos that is a JSON object"))
	case errors.Is(err, cursors.ErrNotJoined):
		c.send(wire.ErrorFrame(in.Ref, wire.CodeForbidden, fmt.Sprintf("join %s before sending cursors to it", clip(in.Room))))
	default:
		c.send(wire.ErrorFrame(in.Ref, wire.CodeUnavailable, "cursors are unavailable right now"))
	}
}

// cursorJoin tells the cursors the room accepted a join.
func (c *conn) cursorJoin(room string) {
	if c.cur != nil {
		c.cur.Join(room)
	}
}

// cursorLeave tells the cursors the socket left room.
func (c *conn) cursorLeave(room string) {
	if c.cur != nil {
		c.cur.Leave(room)
	}
}

// cursorClose takes the socket out of every room's cursors when it ends.
func (c *conn) cursorClose() {
	if c.cur != nil {
		c.cur.Close()
	}
}
