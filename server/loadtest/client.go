package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
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

// client is one bidder's socket. When its hub goes away it reconnects to
// another hub and re-joins with since (the newest version it holds), so its
// history goes on with no gap and no repeat; a bid waiting for its reply is
// sent again, with the same id.
type client struct {
	user string
	urls []string // every hub; urls[home] first
	home int
	room string
	run  context.Context // the whole run: reconnecting stops with it
	// onEvent, when set, is called with each event frame as it arrives
	// (latency probes).
	onEvent func(f *frame, at time.Time)

	mu         sync.Mutex
	ws         *websocket.Conn
	hub        string
	cur        int           // index into urls of the hub connected to
	down       chan struct{} // closed when the current connection is lost
	closing    bool
	joinedAt   int64
	last       int64 // newest version held
	events     []seenEvent
	minNext    int64
	rejoins    []rejoin
	readErr    error
	closedSeen chan struct{}
	closeOnce  sync.Once
	errors     []string

	replies chan frame // acks and rejects, in order
}

// rejoin is one reconnection after a lost hub.
type rejoin struct {
	from, to  string // hub URLs
	since     int64
	version   int64
	recovered bool
	took      time.Duration
}

func newClient(urls []string, home int, user string) *client {
	return &client{user: user, urls: urls, home: home, cur: home, replies: make(chan frame, 64), closedSeen: make(chan struct{})}
}

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
	ws, _, err := websocket.Dial(ctx, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("dialing %s as %s: %w", u.Redacted(), user, err)
	}
	ws.SetReadLimit(1 << 20)
	var w frame
	if err := readFrame(ctx, ws, &w); err != nil || w.Type != "welcome" {
		ws.CloseNow()
		return nil, "", fmt.Errorf("%s: expected welcome, got %q (%v)", user, w.Type, err)
	}
	return ws, w.Hub, nil
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

// dialClient opens a socket for user on urls[home]; join then joins it
// to a room.
func dialClient(ctx context.Context, urls []string, home int, user string) (*client, error) {
	c := newClient(urls, home, user)
	ws, hub, err := dialWS(ctx, urls[home], user)
	if err != nil {
		return nil, err
	}
	c.ws, c.hub = ws, hub
	return c, nil
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
	c.down = make(chan struct{})
	c.joinedAt, c.last = j.Version, j.Version
	c.minNext = mustCents(j.State.MinNextBid)
	down := c.down
	c.mu.Unlock()
	if j.State.Status == "ended" {
		// Joined after the close: there is no closed event to wait for.
		c.closeOnce.Do(func() { close(c.closedSeen) })
	}
	go c.readLoop(ws, down)
	return nil
}

// connect dials the home hub and joins room.
func (c *client) connect(ctx context.Context, room string) error {
	ws, hub, err := dialWS(ctx, c.urls[c.home], c.user)
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

// joinOn sends a join (with since when not nil) and waits for joined.
func joinOn(ctx context.Context, ws *websocket.Conn, user, room string, since *int64) (frame, error) {
	msg := map[string]any{"type": "join", "room": room, "ref": "j"}
	if since != nil {
		msg["since"] = *since
	}
	if err := writeFrame(ctx, ws, msg); err != nil {
		return frame{}, err
	}
	// Cursor batches (presence) may come before joined: skip them.
	var f frame
	for f.Type == "" || f.Type == "cursors" {
		f = frame{}
		if err := readFrame(ctx, ws, &f); err != nil {
			return f, fmt.Errorf("%s: joining: %w", user, err)
		}
	}
	if f.Type != "joined" {
		return f, fmt.Errorf("%s: expected joined, got %s %s %s", user, f.Type, f.Code, f.Message)
	}
	return f, nil
}

func (c *client) readLoop(ws *websocket.Conn, down chan struct{}) {
	for {
		var f frame
		if err := readFrame(context.Background(), ws, &f); err != nil {
			c.mu.Lock()
			c.readErr = err
			closing := c.closing
			c.mu.Unlock()
			close(down)
			if !closing {
				go c.reconnect()
			}
			return
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
		c.events = append(c.events, ev)
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

// reconnect finds another hub (the next ones after the lost one, in turn)
// and re-joins with since, until it succeeds or the run ends. A room busy
// with everyone's bids may refuse joins for a while (unavailable): it backs
// off up to a second between tries.
func (c *client) reconnect() {
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
		if last = c.rejoin(ctx, lost, next, start); last == nil {
			return
		}
		t := time.NewTimer(time.Duration(min(attempt, 20)) * 50 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	c.mu.Lock()
	c.errors = append(c.errors, fmt.Sprintf("could not reconnect after losing %s: %v (last try: %v)", c.urls[lost], ctx.Err(), last))
	c.mu.Unlock()
}

func (c *client) rejoin(ctx context.Context, lost, next int, start time.Time) error {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, hub, err := dialWS(dctx, c.urls[next], c.user)
	if err != nil {
		return err
	}
	c.mu.Lock()
	since := c.last
	c.mu.Unlock()
	j, err := joinOn(dctx, ws, c.user, c.room, &since)
	if err != nil {
		ws.CloseNow()
		return err
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		ws.CloseNow()
		return nil
	}
	c.rejoins = append(c.rejoins, rejoin{from: c.urls[lost], to: c.urls[next], since: since, version: j.Version,
		recovered: j.Recovered, took: time.Since(start)})
	if !j.Recovered && j.State != nil {
		// A full state instead of the missed events: the history has a
		// gap from here (the check reports it) unless nothing was missed.
		c.minNext = mustCents(j.State.MinNextBid)
		c.last = max(c.last, j.Version)
	}
	c.ws, c.hub, c.cur, c.down = ws, hub, next, make(chan struct{})
	down := c.down
	c.mu.Unlock()
	go c.readLoop(ws, down)
	return nil
}

func (c *client) min() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.minNext
}

// conn returns the current connection and the channel closed when it is
// lost.
func (c *client) conn() (*websocket.Conn, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws, c.down
}

// awaitNewConn waits until the client holds a connection other than the
// one whose down channel is old.
func (c *client) awaitNewConn(ctx context.Context, old chan struct{}) error {
	for {
		if _, d := c.conn(); d != old {
			return nil
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// bid sends one bid and waits for its ack or reject. When the connection is
// lost before the reply, the same bid (same id) is sent again on the next
// one: the hub's idempotency makes that safe.
func (c *client) bid(ctx context.Context, room, id string, cents int64) (frame, time.Time, error) {
	msg := map[string]any{"type": "bid", "room": room, "id": id, "amount": formatCents(cents)}
	var sentAt time.Time
	for {
		ws, down := c.conn()
		sentAt = time.Now()
		if err := writeFrame(ctx, ws, msg); err != nil {
			if ctx.Err() != nil {
				return frame{}, sentAt, fmt.Errorf("%s: sending %s: %w", c.user, id, ctx.Err())
			}
			if err := c.awaitNewConn(ctx, down); err != nil {
				return frame{}, sentAt, fmt.Errorf("%s: no connection to resend %s: %w", c.user, id, err)
			}
			continue
		}
	wait:
		for {
			select {
			case f := <-c.replies:
				if f.ID != id {
					continue // the reply to a bid answered twice (sent again after a loss)
				}
				return f, sentAt, nil
			case <-down:
				if err := c.awaitNewConn(ctx, down); err != nil {
					return frame{}, sentAt, fmt.Errorf("%s: connection lost waiting for %s: %w", c.user, id, err)
				}
				break wait
			case <-ctx.Done():
				return frame{}, sentAt, fmt.Errorf("%s: no reply to %s: %w", c.user, id, ctx.Err())
			}
		}
	}
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

// history returns what the client saw: the version it first joined at and
// every event since.
func (c *client) history() (int64, []seenEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.joinedAt, append([]seenEvent(nil), c.events...)
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
