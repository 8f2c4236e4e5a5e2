package loadtest

import (
	"context"
	"encoding/json"
	"errors"
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
// on: the version it joined at and the events after it. A re-join with
// since that recovers continues the segment; one answered with the full
// state starts a new one.
type segment struct {
	joinedAt int64
	events   []seenEvent
}

// client is one bidder's (or watcher's) socket, on urls[home] at first.
//
// With reconnect, a socket that drops (its hub killed or restarting, a room
// resynchronising) is dialled again and re-joined with since, the newest
// version it holds, so its history goes on with no gap and no repeat: on
// the next hub of urls in turn after the one lost, or on the same one again
// when there is only one. A bid without its final answer (no reply before
// the drop, or unavailable) is then sent again with the same id, which the
// hub's idempotency makes safe. Without reconnect a dropped socket is the
// end of the client, and the bid it was waiting for fails.
type client struct {
	user      string
	urls      []string // every hub
	home      int      // index into urls of the first hub
	reconnect bool
	room      string
	run       context.Context // the whole run: reconnecting stops with it
	// onEvent, when set, is called with each event frame as it arrives
	// (latency probes).
	onEvent func(f *frame, at time.Time)

	mu         sync.Mutex
	ws         *websocket.Conn
	hub        string
	cur        int           // index into urls of the hub connected to
	down       chan struct{} // closed when the current socket is lost
	up         chan struct{} // closed while a socket is up (or the client ended)
	closing    bool
	ended      bool // no socket any more, nor will there be
	segments   []segment
	last       int64 // the newest version held
	minNext    int64
	reconnects int           // sockets dialled again after a drop
	rejoins    []rejoin      // re-joins after a drop that succeeded
	resent     int           // bids answered unavailable and sent again
	replies    chan frame    // acks and rejects, in order; closed when the client ends
	gone       chan struct{} // closed when the client ends
	readErr    error
	closedSeen chan struct{}
	closeOnce  sync.Once
	errors     []string
}

// rejoin is one reconnection after a lost socket.
type rejoin struct {
	from, to  string // hub URLs
	since     int64
	version   int64
	recovered bool
	took      time.Duration
}

func newClient(urls []string, home int, user string, reconnect bool) *client {
	c := &client{user: user, urls: urls, home: home, cur: home, reconnect: reconnect,
		replies: make(chan frame, 64), gone: make(chan struct{}), closedSeen: make(chan struct{}),
		down: make(chan struct{}), up: make(chan struct{})}
	return c
}

// dialClient opens a socket for user on urls[home]; join then joins it
// to a room.
func dialClient(ctx context.Context, urls []string, home int, user string, reconnect bool) (*client, error) {
	c := newClient(urls, home, user, reconnect)
	ws, hub, err := dialPatiently(ctx, urls[home], user)
	if err != nil {
		return nil, err
	}
	c.ws, c.hub = ws, hub
	return c, nil
}

// refusedError is a hub's refusal of a new socket for now: 429 (the
// per-address rate or cap) or 503 (the hub full or draining), with how long
// it asked to wait when it said (Retry-After).
type refusedError struct {
	status     int
	retryAfter time.Duration
	err        error
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("refused with %d (retry after %s): %v", e.status, e.retryAfter, e.err)
}

func (e *refusedError) Unwrap() error { return e.err }

// dialWS dials user's socket to base once and reads welcome; a refusal for
// now is a *refusedError.
func dialWS(ctx context.Context, base, user string) (*websocket.Conn, string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ws"
	u.RawQuery = url.Values{"user": {user}}.Encode()
	ws, resp, err := websocket.Dial(ctx, u.String(), nil)
	if err != nil {
		err = fmt.Errorf("dialing %s as %s: %w", u.Redacted(), user, err)
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			r := &refusedError{status: resp.StatusCode, err: err}
			if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
				r.retryAfter = time.Duration(s) * time.Second
			}
			return nil, "", r
		}
		return nil, "", err
	}
	ws.SetReadLimit(1 << 20)
	var w frame
	if err := readFrame(ctx, ws, &w); err != nil || w.Type != "welcome" {
		ws.CloseNow()
		return nil, "", fmt.Errorf("%s: expected welcome, got %q (%v)", user, w.Type, err)
	}
	return ws, w.Hub, nil
}

// dialPatiently dials like dialWS, and when the hub refuses for now (429,
// 503: thousands of sockets from one address meet its per-address rate
// limit) tries again after its Retry-After (200ms when it gave none), until
// ctx ends.
func dialPatiently(ctx context.Context, base, user string) (*websocket.Conn, string, error) {
	for {
		ws, hub, err := dialWS(ctx, base, user)
		var refused *refusedError
		if !errors.As(err, &refused) {
			return ws, hub, err
		}
		t := time.NewTimer(max(refused.retryAfter, 200*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, "", fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func readFrame(ctx context.Context, ws *websocket.Conn, f *frame) error {
	_, b, err := ws.Read(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, f)
}

func writeFrame(ctx context.Context, ws *websocket.Conn, v any) error {
	b, _ := json.Marshal(v)
	return ws.Write(ctx, websocket.MessageText, b)
}

// join joins the open socket to room and starts reading; ctx is the run's,
// which also bounds reconnecting.
func (c *client) join(ctx context.Context, room string) error {
	c.room, c.run = room, ctx
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	j, err := joinOn(ctx, ws, c.user, room, nil)
	if err != nil {
		return err
	}
	if j.State == nil {
		return fmt.Errorf("%s: joined without state", c.user)
	}
	c.mu.Lock()
	c.joined(j)
	close(c.up)
	down := c.down
	c.mu.Unlock()
	go c.readLoop(ws, down)
	return nil
}

// connect dials the home hub and joins room.
func (c *client) connect(ctx context.Context, room string) error {
	ws, hub, err := dialPatiently(ctx, c.urls[c.home], c.user)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ws, c.hub = ws, hub
	c.mu.Unlock()
	if err := c.join(ctx, room); err != nil {
		ws.CloseNow()
		return err
	}
	return nil
}

// joined records a joined frame, under mu: one with the full state starts a
// new segment of the client's history; a recovery continues the current
// one (the events it missed follow it).
func (c *client) joined(j frame) {
	if j.Recovered || j.State == nil {
		return
	}
	c.segments = append(c.segments, segment{joinedAt: j.Version})
	c.last = max(c.last, j.Version)
	c.minNext = mustCents(j.State.MinNextBid)
	// A join closes an auction past its end before answering: a client
	// that joins after the close sees it in the state, not as an event.
	if j.State.Status == "ended" {
		c.closeOnce.Do(func() { close(c.closedSeen) })
	}
}

// joinOn sends a join (with since when not nil) and waits for joined.
func joinOn(ctx context.Context, ws *websocket.Conn, user, room string, since *int64) (frame, error) {
	msg := map[string]any{"type": "join", "room": room, "ref": "j"}
	if since != nil {
		msg["since"] = *since
	}
	if err := writeFrame(ctx, ws, msg); err != nil {
		return frame{}, err
	}
	// Cursor batches and presence counts may come before joined: skip
	// them, and any other frame a newer hub sends that this client does
	// not know.
	var f frame
	for f.Type != "joined" && f.Type != "error" {
		f = frame{}
		if err := readFrame(ctx, ws, &f); err != nil {
			return f, fmt.Errorf("%s: joining: %w", user, err)
		}
	}
	if f.Type != "joined" || (f.State == nil && !f.Recovered) {
		return f, fmt.Errorf("%s: expected joined, got %s %s %s", user, f.Type, f.Code, f.Message)
	}
	return f, nil
}

// readLoop reads the client's sockets, one after the other, until the
// client ends: with reconnect, each lost socket is replaced by a re-joined
// one; without it, or when reconnecting fails, the client ends. It alone
// sends on and closes replies.
func (c *client) readLoop(ws *websocket.Conn, down chan struct{}) {
	for {
		err := c.readFrames(ws)
		c.mu.Lock()
		c.readErr = err
		stop := c.closing || !c.reconnect
		if !stop {
			c.reconnects++
			c.up = make(chan struct{})
		}
		c.mu.Unlock()
		close(down)
		if stop {
			c.end(nil)
			return
		}
		if ws, down, err = c.reconnectLoop(); err != nil {
			c.end(err)
			return
		}
	}
}

// end ends the client: nothing more will be read, bids waiting for a reply
// get an error.
func (c *client) end(err error) {
	c.mu.Lock()
	if err != nil {
		c.readErr = err
		if !errors.Is(err, errClosing) {
			c.errors = append(c.errors, err.Error())
		}
	}
	c.ended = true
	select {
	case <-c.up:
	default:
		close(c.up) // wakes bids waiting for a socket
	}
	c.mu.Unlock()
	close(c.replies)
	close(c.gone)
}

var errClosing = errors.New("the client is closing")

// readFrames handles the frames of one socket until it ends.
func (c *client) readFrames(ws *websocket.Conn) error {
	for {
		var f frame
		if err := readFrame(context.Background(), ws, &f); err != nil {
			return err
		}
		c.handle(&f)
	}
}

func (c *client) handle(f *frame) {
	switch f.Type {
	case "event":
		at := time.Now()
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
		if c.onEvent != nil {
			c.onEvent(f, at)
		}
		if f.Kind == "closed" {
			c.closeOnce.Do(func() { close(c.closedSeen) })
		}
	case "ack", "reject":
		c.replies <- *f
	case "error":
		c.mu.Lock()
		c.errors = append(c.errors, f.Code+": "+f.Message)
		c.mu.Unlock()
	}
}

// reconnectLoop finds a hub for the client again and re-joins with since,
// until it succeeds or the run ends: the hubs after the lost one in turn,
// or the same one again when there is only one (it may be restarting). A
// hub that refuses for now is given its Retry-After; a room busy with
// everyone's bids may refuse joins for a while (unavailable): it backs off
// up to a second between tries.
func (c *client) reconnectLoop() (*websocket.Conn, chan struct{}, error) {
	ctx := c.run
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	c.mu.Lock()
	lost := c.cur
	c.mu.Unlock()
	var last error
	for attempt := 1; ctx.Err() == nil; attempt++ {
		next := (lost + attempt) % len(c.urls)
		if next == lost && len(c.urls) > 1 {
			continue
		}
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if closing {
			return nil, nil, errClosing
		}
		ws, down, err := c.rejoin(ctx, lost, next, start)
		if err == nil || errors.Is(err, errClosing) {
			return ws, down, err
		}
		last = err
		wait := time.Duration(min(attempt, 20)) * 50 * time.Millisecond
		var refused *refusedError
		if errors.As(err, &refused) {
			wait = max(wait, refused.retryAfter)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return nil, nil, fmt.Errorf("could not reconnect after losing %s: %v (last try: %v)", c.urls[lost], ctx.Err(), last)
}

// rejoin dials urls[next] and joins the room with since; on success the
// socket is the client's current one.
func (c *client) rejoin(ctx context.Context, lost, next int, start time.Time) (*websocket.Conn, chan struct{}, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, hub, err := dialWS(dctx, c.urls[next], c.user)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	since := c.last
	c.mu.Unlock()
	j, err := joinOn(dctx, ws, c.user, c.room, &since)
	if err != nil {
		ws.CloseNow()
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		ws.CloseNow()
		return nil, nil, errClosing
	}
	c.rejoins = append(c.rejoins, rejoin{from: c.urls[lost], to: c.urls[next], since: since, version: j.Version,
		recovered: j.Recovered, took: time.Since(start)})
	c.joined(j)
	c.ws, c.hub, c.cur, c.down = ws, hub, next, make(chan struct{})
	close(c.up)
	return ws, c.down, nil
}

func (c *client) min() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.minNext
}

// conn returns the current socket, the channel closed when it is lost, the
// channel closed while one is up, and whether the client has ended.
func (c *client) conn() (*websocket.Conn, chan struct{}, chan struct{}, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws, c.down, c.up, c.ended
}

// bid sends one bid and waits for its ack or reject, returning it and when
// the bid (its last copy) was sent. With reconnect, a bid whose socket
// drops before the reply, or that is rejected unavailable (safe to resend,
// by the contract), is sent again with the same id, on the next socket,
// until it gets a final answer.
func (c *client) bid(ctx context.Context, room, id string, cents int64) (frame, time.Time, error) {
	msg := map[string]any{"type": "bid", "room": room, "id": id, "amount": formatCents(cents)}
	var sentAt time.Time
	for {
		_, _, up, _ := c.conn()
		select {
		case <-up:
		case <-ctx.Done():
			return frame{}, sentAt, fmt.Errorf("%s: no socket to send %s on: %w", c.user, id, ctx.Err())
		}
		ws, down, _, ended := c.conn()
		if ended {
			return frame{}, sentAt, fmt.Errorf("%s: socket gone before %s could be sent: %v", c.user, id, c.err())
		}
		sentAt = time.Now()
		if err := writeFrame(ctx, ws, msg); err != nil {
			if !c.reconnect || ctx.Err() != nil {
				return frame{}, sentAt, fmt.Errorf("%s: sending %s: %w", c.user, id, err)
			}
			select {
			case <-down:
			case <-ctx.Done():
				return frame{}, sentAt, fmt.Errorf("%s: no reply to %s: %w", c.user, id, ctx.Err())
			}
			continue
		}
		// Without reconnect a lost socket ends the client, which closes
		// replies: that is the answer then.
		var lost chan struct{}
		if c.reconnect {
			lost = down
		}
	wait:
		for {
			select {
			case f, ok := <-c.replies:
				if !ok {
					return frame{}, sentAt, fmt.Errorf("%s: socket closed while waiting for the reply to %s: %v", c.user, id, c.err())
				}
				if f.ID != id {
					continue // a late reply to an earlier bid, sent again after a drop
				}
				if c.reconnect && f.Type == "reject" && f.Reason == "unavailable" {
					c.mu.Lock()
					c.resent++
					c.mu.Unlock()
					t := time.NewTimer(100 * time.Millisecond)
					select {
					case <-ctx.Done():
						t.Stop()
						return frame{}, sentAt, fmt.Errorf("%s: %s answered unavailable until: %w", c.user, id, ctx.Err())
					case <-t.C:
					}
					break wait
				}
				return f, sentAt, nil
			case <-lost:
				break wait
			case <-ctx.Done():
				return frame{}, sentAt, fmt.Errorf("%s: no reply to %s: %w", c.user, id, ctx.Err())
			}
		}
	}
}

// err is why the client's last socket ended.
func (c *client) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

func (c *client) close() {
	c.mu.Lock()
	c.closing = true
	ws := c.ws
	c.mu.Unlock()
	if ws != nil {
		ws.Close(websocket.StatusNormalClosure, "load test done")
	}
}

// history returns what the client saw: each segment of its history, from
// a joined frame with the full state on.
func (c *client) history() []segment {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]segment, len(c.segments))
	for i, sg := range c.segments {
		out[i] = segment{joinedAt: sg.joinedAt, events: append([]seenEvent(nil), sg.events...)}
	}
	return out
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

var errNoHub = errors.New("no hub reachable")
