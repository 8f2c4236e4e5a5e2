package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

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

// client is one bidder's socket.
type client struct {
	user string
	hub  string
	ws   *websocket.Conn

	mu         sync.Mutex
	joinedAt   int64
	events     []seenEvent
	minNext    int64
	replies    chan frame // acks and rejects, in order
	readErr    error
	closedSeen chan struct{}
	closeOnce  sync.Once
	errors     []string
}

func dial(ctx context.Context, base, user string) (*client, error) {
	u, err := url.Parse(base)
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
	u.RawQuery = url.Values{"user": {user}}.Encode()
	ws, _, err := websocket.Dial(ctx, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("dialing %s as %s: %w", u.Redacted(), user, err)
	}
	ws.SetReadLimit(1 << 20)
	c := &client{user: user, ws: ws, replies: make(chan frame, 64), closedSeen: make(chan struct{})}
	var w frame
	if err := c.read(ctx, &w); err != nil || w.Type != "welcome" {
		ws.CloseNow()
		return nil, fmt.Errorf("%s: expected welcome, got %q (%v)", user, w.Type, err)
	}
	c.hub = w.Hub
	return c, nil
}

func (c *client) read(ctx context.Context, f *frame) error {
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, f)
}

func (c *client) send(ctx context.Context, v any) error {
	b, _ := json.Marshal(v)
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// join joins room and waits for joined; then the read loop runs.
func (c *client) join(ctx context.Context, room string) error {
	if err := c.send(ctx, map[string]any{"type": "join", "room": room, "ref": "j"}); err != nil {
		return err
	}
	// Cursor batches and presence counts may come before joined: skip
	// them, and any other frame a newer hub sends that this client does
	// not know.
	var f frame
	for f.Type != "joined" && f.Type != "error" {
		f = frame{}
		if err := c.read(ctx, &f); err != nil {
			return fmt.Errorf("%s: joining: %w", c.user, err)
		}
	}
	if f.Type != "joined" || f.State == nil {
		return fmt.Errorf("%s: expected joined with state, got %s %s", c.user, f.Type, f.Message)
	}
	c.joinedAt = f.Version
	c.minNext = mustCents(f.State.MinNextBid)
	go c.readLoop()
	return nil
}

func (c *client) readLoop() {
	for {
		var f frame
		if err := c.read(context.Background(), &f); err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			close(c.replies)
			return
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
			c.events = append(c.events, ev)
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

// bid sends one bid and waits for its ack or reject.
func (c *client) bid(ctx context.Context, room, id string, cents int64) (frame, error) {
	if err := c.send(ctx, map[string]any{"type": "bid", "room": room, "id": id, "amount": formatCents(cents)}); err != nil {
		return frame{}, err
	}
	select {
	case f, ok := <-c.replies:
		if !ok {
			return frame{}, fmt.Errorf("%s: socket closed while waiting for the reply to %s: %v", c.user, id, c.readErr)
		}
		return f, nil
	case <-ctx.Done():
		return frame{}, fmt.Errorf("%s: no reply to %s: %w", c.user, id, ctx.Err())
	}
}

func (c *client) close() { c.ws.Close(websocket.StatusNormalClosure, "load test done") }

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
