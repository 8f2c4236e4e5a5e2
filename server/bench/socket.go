package bench

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// A socket is one client connection of the load client. Its read loop hands
// every frame to the target's handler; frames are read into a buffer the
// socket reuses, so the load client costs both servers the same.
type socket struct {
	ws  *websocket.Conn
	buf bytes.Buffer
}

// dialer spreads the load client's connections over many loopback source
// addresses (127.0.0.2, .3, ...), so that 10,000 sockets per server, and
// the TIME_WAIT they leave, never run out of ephemeral ports.
type dialer struct {
	next    atomic.Uint64
	sources int
}

func (d *dialer) client() *http.Client {
	n := d.next.Add(1)
	local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(n/250%250), byte(2+n%250))}
	if d.sources <= 1 {
		local = nil
	}
	nd := &net.Dialer{LocalAddr: local, Timeout: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: nd.DialContext, DisableKeepAlives: true}}
}

// dial opens a socket to url.
func (d *dialer) dial(ctx context.Context, url string) (*socket, error) {
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: d.client()})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 22)
	return &socket{ws: ws}, nil
}

// read returns the next message; the slice is valid until the next read.
func (s *socket) read(ctx context.Context) ([]byte, error) {
	_, r, err := s.ws.Reader(ctx)
	if err != nil {
		return nil, err
	}
	s.buf.Reset()
	if _, err := s.buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return s.buf.Bytes(), nil
}

func (s *socket) write(ctx context.Context, b []byte) error {
	return s.ws.Write(ctx, websocket.MessageText, b)
}

func (s *socket) close() { s.ws.CloseNow() }

// triggerMarker precedes the number of a trigger in every frame that
// carries one: both servers' events carry {"id":"t-<n>"} in their data.
var triggerMarker = []byte(`"id":"t-`)

// triggers calls fn with the number of each trigger frame b carries, in
// order (a batched frame carries several).
func triggers(b []byte, fn func(n int)) {
	for {
		i := bytes.Index(b, triggerMarker)
		if i < 0 {
			return
		}
		b = b[i+len(triggerMarker):]
		j := bytes.IndexByte(b, '"')
		if j < 0 {
			return
		}
		if n, err := strconv.Atoi(string(b[:j])); err == nil {
			fn(n)
		}
		b = b[j:]
	}
}
