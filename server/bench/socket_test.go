package bench

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The load client's socket against a real WebSocket server (coder/websocket):
// the handshake, a message split in fragments, one larger than its buffer,
// a ping answered while reading, its own masked messages read back, and a
// close frame ending the reading.
func TestSocketAgainstAWebSocketServer(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 100<<10)
	pinged := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"welcome"}`))
		fw, _ := c.Writer(ctx, websocket.MessageText)
		for _, part := range []string{`{"type":`, `"frag`, `mented"}`} {
			_, _ = fw.Write([]byte(part))
		}
		_ = fw.Close()
		_ = c.Write(ctx, websocket.MessageBinary, big)
		// Ping waits for the pong, which the client sends while it reads;
		// Read must run meanwhile for coder/websocket to see it.
		go func() { pinged <- c.Ping(ctx) }()
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		_ = c.Write(ctx, websocket.MessageText, append([]byte("echo "), msg...))
		_ = c.Close(websocket.StatusNormalClosure, "bye")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := (&dialer{}).dial(ctx, "ws://"+strings.TrimPrefix(srv.URL, "http://")+"/ws?user=a")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for _, want := range [][]byte{[]byte(`{"type":"welcome"}`), []byte(`{"type":"fragmented"}`), big} {
		got, err := s.read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes %.40q, want %d bytes %.40q", len(got), got, len(want), want)
		}
	}
	msg := bytes.Repeat([]byte("masked "), 40) // over 125 bytes: a 16-bit length
	if err := s.write(ctx, msg); err != nil {
		t.Fatal(err)
	}
	got, err := s.read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("echo "), msg...); !bytes.Equal(got, want) {
		t.Fatalf("echo: %.60q, want %.60q", got, want)
	}
	if err := <-pinged; err != nil {
		t.Errorf("the server's ping was not answered: %v", err)
	}
	if _, err := s.read(ctx); !errors.Is(err, errClosed) {
		t.Errorf("after the close frame: %v, want errClosed", err)
	}
}

// A server that refuses the upgrade is reported with its status and body.
func TestSocketRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such room", http.StatusForbidden)
	}))
	defer srv.Close()
	_, err := (&dialer{}).dial(context.Background(), "ws://"+strings.TrimPrefix(srv.URL, "http://")+"/ws")
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "no such room") {
		t.Fatalf("dial: %v, want the 403 and its body", err)
	}
}
