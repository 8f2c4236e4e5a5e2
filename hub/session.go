package hub

import (
	"sync"
	"time"

	"hotrow/hub/auth"
	"hotrow/hub/wire"
)

// session is what a socket's token grants now: its rights and its expiry,
// both replaced when the client renews the token in-band (refresh). The
// read loop checks the rights; watchExpiry closes the socket when the
// token runs out.
type session struct {
	mu      sync.Mutex
	rights  auth.Rights
	expires time.Time     // zero: never (development mode)
	renewed chan struct{} // one slot: the expiry moved
}

func newSession(id Identity) *session {
	return &session{rights: id.Rights, expires: id.Expires, renewed: make(chan struct{}, 1)}
}

func (s *session) get() (auth.Rights, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rights, s.expires
}

func (s *session) renew(id Identity) {
	s.mu.Lock()
	s.rights, s.expires = id.Rights, id.Expires
	s.mu.Unlock()
	select {
	case s.renewed <- struct{}{}:
	default:
	}
}

// expiredAt reports whether the token has run out at now (with the skew
// auth.Leeway tolerated at connect).
func (s *session) expiredAt(now time.Time) bool {
	_, exp := s.get()
	return !exp.IsZero() && !now.Before(exp.Add(auth.Leeway))
}

// watchExpiry closes the socket once its token expires without renewal: the
// client gets an error token_expired and the close code 4001. It returns
// when the socket ends.
func (c *conn) watchExpiry() {
	for {
		_, exp := c.sess.get()
		if exp.IsZero() {
			return
		}
		t := c.hub.cfg.Clock.NewTimer(exp.Add(auth.Leeway).Sub(c.hub.cfg.Clock.Now()))
		select {
		case <-t.C():
			if c.sess.expiredAt(c.hub.cfg.Clock.Now()) {
				c.expire()
				return
			}
		case <-c.sess.renewed:
			t.Stop()
		case <-c.done:
			t.Stop()
			return
		}
	}
}

// expire tells the client its token expired and closes the socket.
func (c *conn) expire() {
	c.send(wire.ErrorFrame("", wire.CodeTokenExpired, "the token expired: reconnect with a new one, or send refresh before it expires"))
	c.disconnect(disconnectTokenExpired)
}
