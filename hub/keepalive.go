package hub

import (
	"sync/atomic"
	"time"
)

// Keepalive: the hub pings every socket (a WebSocket ping frame) every
// PingInterval and closes one that has not answered within PongWait,
// counted as hotrow_ws_disconnects_total{reason="keepalive"}. A peer that
// vanished without a FIN (a laptop lid closed, a NAT forgetting the
// connection) is thus closed within PingInterval + PongWait of its last
// sign of life, instead of when a write finally fails. Any frame from the
// client counts as an answer, a pong or a message.
//
// One goroutine per hub does it for every socket: it wakes every
// keepaliveTick(cfg) and looks at each socket's liveness, so an idle socket
// costs no timer and no goroutine. Pings go through the send queue, so
// they never wait for a socket that is being written to.

// liveness is one socket's keepalive state.
type liveness struct {
	answers atomic.Int64 // frames (pongs included) received so far

	// Touched by the keepalive goroutine only.
	lastPing  time.Time // when the last ping was queued (the socket's start before any)
	pingAt    time.Time // when the unanswered ping was queued; zero when none is
	answersAt int64     // answers when that ping was queued
}

// heard records a frame from the client.
func (l *liveness) heard() { l.answers.Add(1) }

// keepaliveTick is how often the keepalive goroutine looks at the sockets:
// often enough that, pinging a tick early and closing a tick early, a dead
// peer is closed within PingInterval + PongWait.
func keepaliveTick(cfg Config) time.Duration {
	return max(min(cfg.PingInterval, cfg.PongWait)/8, time.Millisecond)
}

// keepalive runs until stop is closed.
func (h *Hub) keepalive(stop <-chan struct{}) {
	tick := keepaliveTick(h.cfg)
	for {
		t := h.cfg.Clock.NewTimer(tick)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C():
		}
		h.checkAlive(h.cfg.Clock.Now(), tick)
	}
}

// checkAlive pings the sockets due a ping and closes those whose ping went
// unanswered.
func (h *Hub) checkAlive(now time.Time, tick time.Duration) {
	for _, c := range h.openConns() {
		l := &c.alive
		if l.lastPing.IsZero() {
			l.lastPing = now // a new socket: its first ping is an interval away
			continue
		}
		if !l.pingAt.IsZero() {
			switch {
			case l.answers.Load() != l.answersAt:
				l.pingAt = time.Time{}
			case now.Sub(l.pingAt) >= h.cfg.PongWait-tick:
				h.cfg.Logger.Debug("closing a socket that did not answer its ping", "user", c.id.User, "waited", now.Sub(l.pingAt))
				c.disconnect(disconnectNoPong)
				continue
			default:
				continue
			}
		}
		if now.Sub(l.lastPing) >= h.cfg.PingInterval-tick {
			l.lastPing, l.pingAt, l.answersAt = now, now, l.answers.Load()
			c.Send(pingFrame, false)
		}
	}
}
