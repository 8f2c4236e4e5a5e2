package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/coder/websocket"

	"hotrow/hub/wire"
	"hotrow/internal/textutil"
	"hotrow/rooms"
)

// dispatch handles one client frame. Bad input gets an error reply and the
// socket stays open; nothing here may panic on client data.
func (c *conn) dispatch(data []byte) {
	var in wire.Inbound
	if err := json.Unmarshal(data, &in); err != nil {
		c.hub.m.messages.WithLabelValues("other").Inc()
		c.send(wire.ErrorFrame(refOf(websocket.MessageText, data), wire.CodeBadRequest, unreadable(err)))
		return
	}
	c.hub.m.messages.WithLabelValues(c.hub.m.typeLabel(in.Type)).Inc()
	if !validRef(in.Ref) {
		c.send(wire.ErrorFrame("", wire.CodeBadRequest, fmt.Sprintf("ref must be at most %d characters", maxRefChars)))
		return
	}
	if c.sess.expiredAt(c.hub.cfg.Clock.Now()) {
		c.expire()
		return
	}
	switch in.Type {
	case wire.TypeRefresh:
		c.refresh(in)
	case wire.TypePing:
		c.send(wire.Encode(wire.Pong{Type: "pong", Ref: in.Ref}))
	case wire.TypeJoin:
		c.join(in)
	case wire.TypeLeave:
		c.leave(in)
	case wire.TypeCursor:
		c.cursor(in)
	case "":
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, "the message has no type"))
	default:
		if kind, op, ok := c.hub.rooms.Kinds().ForOp(in.Type); ok {
			c.mutate(in, kind.Name, op, data)
			return
		}
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, fmt.Sprintf("unknown message type %q", clip(in.Type))))
	}
}

// roomCtx bounds handing a message to a room. Only the read loop hands
// messages over, so no socket that has ended waits on a room.
func (c *conn) roomCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.hub.cfg.EnqueueTimeout)
}

func (c *conn) join(in wire.Inbound) {
	if in.Room == "" {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, "join needs a room"))
		return
	}
	if in.Since != nil && *in.Since < 0 {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, "since must be a version of 0 or more"))
		return
	}
	if _, _, err := c.hub.rooms.Kinds().ParseRoom(in.Room); err != nil {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, err.Error()))
		return
	}
	if rights, _ := c.sess.get(); !rights.CanWatch(in.Room) {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeForbidden, fmt.Sprintf("your token does not let you watch %s", clip(in.Room))))
		return
	}
	gen, ok := c.rooms.begin(in.Room, c.hub.cfg.MaxRoomsPerConn)
	if !ok {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeForbidden, fmt.Sprintf("a socket may join at most %d rooms", c.hub.cfg.MaxRoomsPerConn)))
		return
	}
	ctx, cancel := c.roomCtx()
	defer cancel()
	room := in.Room
	done := func(joined bool) {
		c.rooms.settle(room, gen, joined, func() { c.cursorJoin(room) }, func() { c.cursorLeave(room) })
	}
	if err := c.hub.rooms.Join(ctx, room, c, in.Since, in.Ref, done); err != nil {
		c.rooms.abandon(room, gen)
		c.send(roomError(in.Ref, err))
	}
}

func (c *conn) leave(in wire.Inbound) {
	if in.Room == "" {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, "leave needs a room"))
		return
	}
	room := in.Room
	if !c.rooms.leave(room, func() { c.cursorLeave(room) }) {
		c.send(wire.Encode(wire.Left{Type: "left", Ref: in.Ref, Room: in.Room}))
		return
	}
	ctx, cancel := c.roomCtx()
	defer cancel()
	if err := c.hub.rooms.Leave(ctx, in.Room, c, in.Ref, true); err != nil {
		c.send(roomError(in.Ref, err))
	}
}

// mutate sends a room kind's mutation (a bid, an edit) to its room, with
// the op's payload field of the frame; the room replies with an ack or a
// reject.
func (c *conn) mutate(in wire.Inbound, kind string, op rooms.Op, data []byte) {
	switch {
	case in.Room == "":
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, op.Type+" needs a room"))
		return
	case in.ID == "" || textutil.Chars(in.ID) > maxIDChars || !utf8.ValidString(in.ID):
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, fmt.Sprintf("%s needs an id of 1-%d characters (its idempotency key)", op.Type, maxIDChars)))
		return
	case textutil.HasControl(in.ID):
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, op.Type+"'s id must not contain control characters"))
		return
	}
	k, _, err := c.hub.rooms.Kinds().ParseRoom(in.Room)
	if err != nil {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, err.Error()))
		return
	}
	if k != kind {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, fmt.Sprintf("%s goes to %s rooms, not %s", op.Type, kind, clip(in.Room))))
		return
	}
	if rights, _ := c.sess.get(); !rights.CanDo(op.Type, in.Room) {
		c.send(wire.Encode(wire.Reject{Type: "reject", Ref: in.Ref, ID: in.ID, Room: in.Room,
			Reason: rooms.ReasonForbidden, Message: fmt.Sprintf("your token does not let you %s in %s", op.Type, clip(in.Room))}))
		return
	}
	payload, err := field(data, op.Field)
	if err != nil {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, err.Error()))
		return
	}
	m := &rooms.Mutation{Op: op.Type, ID: in.ID, User: c.id.User, Ref: in.Ref, Payload: payload, Reply: c}
	ctx, cancel := c.roomCtx()
	defer cancel()
	if err := c.hub.rooms.Mutate(ctx, in.Room, m); err != nil {
		c.send(wire.Encode(wire.Reject{Type: "reject", Ref: in.Ref, ID: in.ID, Room: in.Room,
			Reason: "unavailable", Message: err.Error() + "; resending the same id is safe"}))
	}
}

// unreadable says why a frame could not be read: which field has the
// wrong JSON type, or that it is not JSON at all.
func unreadable(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "a message must be a JSON object, not " + typeErr.Value
		}
		return fmt.Sprintf("field %s must not be a JSON %s", clip(typeErr.Field), typeErr.Value)
	}
	return "invalid JSON: " + err.Error()
}

// field returns the raw JSON of one field of a frame (nil when absent).
func field(data []byte, name string) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return fields[name], nil
}

// roomError turns a failure to reach a room into an error frame.
func roomError(ref string, err error) []byte {
	var bad *rooms.BadRoomError
	switch {
	case errors.As(err, &bad):
		return wire.ErrorFrame(ref, wire.CodeBadRequest, err.Error())
	case errors.Is(err, rooms.ErrDraining):
		return wire.ErrorFrame(ref, wire.CodeUnavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return wire.ErrorFrame(ref, wire.CodeUnavailable, "the room is too busy right now; try again")
	}
	return wire.ErrorFrame(ref, wire.CodeInternal, "could not reach the room")
}

// clip shortens client text quoted back in an error message.
func clip(s string) string { return textutil.Clip(s, 64) }
