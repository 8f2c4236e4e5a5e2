package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// frame is any server frame, with the fields the checks read.
type frame struct {
	Type      string          `json:"type"`
	Ref       string          `json:"ref"`
	Room      string          `json:"room"`
	Version   int64           `json:"version"`
	Kind      string          `json:"kind"`
	Data      json.RawMessage `json:"data"`
	State     *auctionState   `json:"state"`
	Recovered bool            `json:"recovered"`
	ID        string          `json:"id"`
	Attempts  int             `json:"attempts"`
	Reason    string          `json:"reason"`
	Message   string          `json:"message"`
	Code      string          `json:"code"`
	Min       string          `json:"min"`
	User      string          `json:"user"`
	Hub       string          `json:"hub"`
}

type auctionState struct {
	ID         string  `json:"id"`
	Status     string  `json:"status"`
	CurrentBid *string `json:"current_bid"`
	Leader     *string `json:"leader"`
	Bids       int     `json:"bids"`
	MinNextBid string  `json:"min_next_bid"`
	EndsAt     string  `json:"ends_at"`
	Winner     *string `json:"winner"`
	FinalPrice *string `json:"final_price"`
}

// seenEvent is one event as a client received it.
type seenEvent struct {
	Version int64
	Kind    string
	Data    string
	Price   int64 // current_bid in cents after the event; -1 when none
}

// segment is what a client saw from one joined frame with the full state
// on: the version it joined at and the events after it. A join with since
// that recovers continues the segment; one answered with the full state
// starts a new one.
type segment struct {
	joinedAt int64
	events   []seenEvent
}

// client is one bidder's socket. With reconnect, a socket that drops (a
// hub restarting, a room resynchronising) is dialled again and re-joined
// with since, and a bid without its reply is sent again with the same id.
type client struct {
	base, user, room string
	reconnect        bool
	hub              string

	mu         sync.Mutex
	ws         *websocket.Conn
	dropped    chan struct{} // closed when the current socket drops
	up         chan struct{} // closed when a socket is up again after a drop
	closing    bool
	segments   []segment
	last       int64 // the newest version seen
	minNext    int64
	reconnects int
	resent     int        // bids sent again after unavailable (with reconnect)
	replies    chan frame // acks and rejects, in order
	readErr    error
	closedSeen chan struct{}
	closeOnce  sync.Once
	errors     []string
}

// dial opens user's socket to base; join then joins it to the room.
func dial(ctx context.Context, base, user string, reconnect bool) (*client, error) {
	c := &client{base: base, user: user, reconnect: reconnect,
		replies: make(chan frame, 64), closedSeen: make(chan struct{}), dropped: make(chan struct{}), up: make(chan struct{})}
	close(c.up)
	ws, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	c.ws = ws
	return c, nil
}

// join joins room and waits for joined; then the read loop runs.
func (c *client) join(ctx context.Context, room string) error {
	c.room = room
	if err := c.joinOn(ctx, c.ws); err != nil {
		return err
	}
	go c.readLoop(c.ws)
	return nil
}

// open dials the socket and reads welcome. A hub that refuses for now
// (429, 503: rate limits, a full hub) or cannot be reached is tried again,
// after its Retry-After if it gave one, until ctx ends.
func (c *client) open(ctx context.Context) (*websocket.Conn, error) {
	u, err := url.Parse(c.base)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ws"
	u.RawQuery = url.Values{"user": {c.user}}.Encode()
	for {
		ws, resp, err := websocket.Dial(ctx, u.String(), nil)
		if err == nil {
			ws.SetReadLimit(1 << 20)
			var w frame
			if err := read(ctx, ws, &w); err != nil || w.Type != "welcome" {
				ws.CloseNow()
				return nil, fmt.Errorf("%s: expected welcome, got %q (%v)", c.user, w.Type, err)
			}
			c.hub = w.Hub
			return ws, nil
		}
		wait := 200 * time.Millisecond
		switch {
		case resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable):
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
		case resp == nil && c.reconnect:
			// The hub is not there (restarting): keep trying.
		default:
			return nil, fmt.Errorf("dialing %s as %s: %w", u.Redacted(), c.user, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dialing %s as %s: %w (last: %v)", u.Redacted(), c.user, ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

func read(ctx context.Context, ws *websocket.Conn, f *frame) error {
	_, b, err := ws.Read(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, f)
}

func (c *client) send(ctx context.Context, ws *websocket.Conn, v any) error {
	b, _ := json.Marshal(v)
	return ws.Write(ctx, websocket.MessageText, b)
}

// joinOn joins the room on ws and waits for joined: with since once the
// client has seen a version, so that a re-join recovers what it missed.
func (c *client) joinOn(ctx context.Context, ws *websocket.Conn) error {
	msg := map[string]any{"type": "join", "room": c.room, "ref": "j"}
	c.mu.Lock()
	since := c.last
	c.mu.Unlock()
	if since > 0 {
		msg["since"] = since
	}
	if err := c.send(ctx, ws, msg); err != nil {
		return err
	}
	// Cursor batches and presence counts may come before joined: skip
	// them, and any other frame a newer hub sends that this client does
	// not know.
	var f frame
	for f.Type != "joined" && f.Type != "error" {
		f = frame{}
		if err := read(ctx, ws, &f); err != nil {
			return fmt.Errorf("%s: joining: %w", c.user, err)
		}
	}
	if f.Type != "joined" || (f.State == nil && !f.Recovered) {
		return fmt.Errorf("%s: expected joined, got %s %s", c.user, f.Type, f.Message)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !f.Recovered {
		c.segments = append(c.segments, segment{joinedAt: f.Version})
		c.last = f.Version
		c.minNext = mustCents(f.State.MinNextBid)
		// A join closes an auction past its end before answering: a client
		// that joins after the close sees it in the state, not as an event.
		if f.State.Status == "ended" {
			c.closeOnce.Do(func() { close(c.closedSeen) })
		}
	}
	return nil
}

// readLoop reads frames until the socket ends; with reconnect it then
// dials again, re-joins with since and goes on.
func (c *client) readLoop(ws *websocket.Conn) {
	for {
		err := c.readFrames(ws)
		c.mu.Lock()
		if !c.reconnect || c.closing {
			c.readErr = err
			c.mu.Unlock()
			close(c.replies)
			return
		}
		c.reconnects++
		close(c.dropped)
		c.up = make(chan struct{})
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		ws = nil
		for ws == nil && ctx.Err() == nil {
			next, err := c.open(ctx)
			if err == nil {
				if err = c.joinOn(ctx, next); err == nil {
					ws = next
					break
				}
				next.CloseNow()
			}
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		c.mu.Lock()
		if ws == nil || c.closing {
			c.readErr = fmt.Errorf("%s: could not reconnect", c.user)
			c.mu.Unlock()
			close(c.replies)
			return
		}
		c.ws = ws
		c.dropped = make(chan struct{})
		close(c.up)
		c.mu.Unlock()
	}
}

// readFrames handles the frames of one socket until it ends.
func (c *client) readFrames(ws *websocket.Conn) error {
	for {
		var f frame
		if err := read(context.Background(), ws, &f); err != nil {
			return err
		}
		switch f.Type {
		case "event":
			ev := seenEvent{Version: f.Version, Kind: f.Kind, Data: string(f.Data), Price: -1}
			c.mu.Lock()
			if f.State != nil {
				if f.State.CurrentBid != nil {
					ev.Price = mustCents(*f.State.CurrentBid)
				}
				c.minNext = mustCents(f.State.MinNextBid)
			}
			if n := len(c.segments); n > 0 {
				c.segments[n-1].events = append(c.segments[n-1].events, ev)
			}
			c.last = max(c.last, f.Version)
			c.mu.Unlock()
			if f.Kind == "closed" {
				c.closeOnce.Do(func() { close(c.closedSeen) })
			}
		case "ack", "reject":
			c.replies <- f
		case "error":
			c.mu.Lock()
			c.errors = append(c.errors, f.Code+": "+f.Message)
			c.mu.Unlock()
		}
	}
}

func (c *client) min() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.minNext
}

// current is the socket now, and the channel closed when it drops.
func (c *client) current() (*websocket.Conn, chan struct{}, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws, c.dropped, c.up
}

// bid sends one bid and waits for its ack or reject. With reconnect, a bid
// whose socket drops before the reply, or that is rejected unavailable
// (safe to resend, by the contract), is sent again with the same id until
// it gets a final answer.
func (c *client) bid(ctx context.Context, room, id string, cents int64) (frame, error) {
	msg := map[string]any{"type": "bid", "room": room, "id": id, "amount": formatCents(cents)}
	for {
		_, _, up := c.current()
		select {
		case <-up:
		case <-ctx.Done():
			return frame{}, fmt.Errorf("%s: no socket for %s: %w", c.user, id, ctx.Err())
		}
		ws, dropped, _ := c.current()
		if err := c.send(ctx, ws, msg); err != nil {
			if !c.reconnect {
				return frame{}, err
			}
			select {
			case <-dropped:
			case <-ctx.Done():
				return frame{}, fmt.Errorf("%s: no reply to %s: %w", c.user, id, ctx.Err())
			}
			continue
		}
	wait:
		for {
			select {
			case f, ok := <-c.replies:
				if !ok {
					return frame{}, fmt.Errorf("%s: socket closed while waiting for the reply to %s: %v", c.user, id, c.readErr)
				}
				if f.ID != id {
					continue // a late reply to an earlier send of another id
				}
				if c.reconnect && f.Type == "reject" && f.Reason == "unavailable" {
					c.mu.Lock()
					c.resent++
					c.mu.Unlock()
					time.Sleep(100 * time.Millisecond)
					break wait
				}
				return f, nil
			case <-dropped:
				if !c.reconnect {
					return frame{}, fmt.Errorf("%s: socket dropped while waiting for the reply to %s", c.user, id)
				}
				break wait
			case <-ctx.Done():
				return frame{}, fmt.Errorf("%s: no reply to %s: %w", c.user, id, ctx.Err())
			}
		}
	}
}

func (c *client) close() {
	c.mu.Lock()
	c.closing = true
	ws := c.ws
	c.mu.Unlock()
	ws.Close(websocket.StatusNormalClosure, "load test done")
}

func mustCents(s string) int64 {
	var whole, frac int64
	parts := strings.SplitN(s, ".", 2)
	fmt.Sscan(parts[0], &whole)
	if len(parts) == 2 {
		f := parts[1]
		if len(f) == 1 {
			f += "0"
		}
		fmt.Sscan(f, &frac)
	}
	return whole*100 + frac
}

func formatCents(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }
