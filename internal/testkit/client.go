// Package testkit is what hotrow's tests share: a WebSocket client that
// speaks the wire protocol, and a world of rooms on the embedded store
// with a hub in front of it. Tests of hub, rooms and server use it.
package testkit

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Client is a test socket that reads frames on demand and remembers every
// frame it read. Timeouts only bound a failing test.
type Client struct {
	t    testing.TB
	WS   *websocket.Conn
	Seen []map[string]any // every frame read, in order
}

// Dial connects to base (an http:// or ws:// URL of a hub) as ?user=user,
// and reads the welcome frame.
func Dial(t testing.TB, base, user string) *Client {
	t.Helper()
	c := DialURL(t, WSURL(base)+"/ws?user="+user, nil)
	if w := c.Next(); w["type"] != "welcome" || w["user"] != user {
		t.Fatalf("first frame = %v, want welcome for %s", w, user)
	}
	return c
}

// DialURL connects to a full socket URL with optional headers and reads
// nothing.
func DialURL(t testing.TB, url string, header http.Header) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return &Client{t: t, WS: ws}
}

// WSURL turns an http(s) URL into the ws(s) one.
func WSURL(base string) string {
	if strings.HasPrefix(base, "http") {
		return "ws" + strings.TrimPrefix(base, "http")
	}
	return base
}

// Send writes v (JSON-encoded; []byte as is) as one text frame.
func (c *Client) Send(v any) {
	c.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WS.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// Read reads one frame within d.
func (c *Client) Read(d time.Duration) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, b, err := c.WS.Read(ctx)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("server sent invalid JSON %q: %v", b, err)
	}
	c.Seen = append(c.Seen, m)
	return m, nil
}

// Next reads one frame.
func (c *Client) Next() map[string]any {
	c.t.Helper()
	m, err := c.Read(10 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// Await reads frames until match accepts one, and returns it.
func (c *Client) Await(what string, match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := c.Read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(m) {
			return m
		}
	}
}

// Until reads frames until one of type typ arrives, and returns it.
func (c *Client) Until(typ string) map[string]any {
	c.t.Helper()
	return c.Await("a "+typ+" frame", OfType(typ))
}

// Events returns the event frames read so far.
func (c *Client) Events() []map[string]any {
	var out []map[string]any
	for _, m := range c.Seen {
		if m["type"] == "event" {
			out = append(out, m)
		}
	}
	return out
}

// CloseCode waits for the server to close the socket and returns the code.
func (c *Client) CloseCode() websocket.StatusCode {
	c.t.Helper()
	for {
		if _, err := c.Read(10 * time.Second); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// OfType matches frames of type typ.
func OfType(typ string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ }
}

// ErrorCode matches the error frame answering ref with code.
func ErrorCode(ref, code string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == "error" && m["ref"] == ref && m["code"] == code }
}

// Reply matches the frame of type typ answering ref (ack, reject, joined...).
func Reply(typ, ref string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ && m["ref"] == ref }
}
