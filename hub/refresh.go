package hub

import (
	"hotrow/hub/wire"
)

// refresh renews the socket's token in-band: the new token must be valid
// and name the same user. It replaces the socket's rights and expiry; the
// socket leaves (with a left frame) any room the new rights no longer let
// it watch. A refused refresh changes nothing: the old token still holds
// until it expires.
func (c *conn) refresh(in wire.Inbound) {
	if !c.hub.auth.Enabled() {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeBadRequest, "this hub runs without tokens (development mode): there is nothing to refresh"))
		return
	}
	id, err := c.hub.auth.Verify(in.Token)
	if err != nil {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeUnauthorized, err.Error()))
		return
	}
	if id.User != c.id.User {
		c.send(wire.ErrorFrame(in.Ref, wire.CodeForbidden, "the new token is for another user: a socket keeps its user"))
		return
	}
	c.sess.renew(id)
	c.send(wire.Encode(wire.Refreshed{Type: "refreshed", Ref: in.Ref, Exp: id.Expires.UTC()}))
	for _, room := range c.rooms.list() {
		if !id.Rights.CanWatch(room) {
			c.leave(wire.Inbound{Type: wire.TypeLeave, Room: room})
		}
	}
}
