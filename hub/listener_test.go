package hub_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotrow/hub"
	"hotrow/internal/testkit"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
)

// listenerHub serves a hub the way `hotrow serve` does: sockets answered
// at h.Listener, every other request by net/http, here GET /healthz.
func listenerHub(t *testing.T, headerTimeout time.Duration) (addr string, srvDone <-chan error, ln net.Listener) {
	t.Helper()
	return listenerHubWith(t, headerTimeout, hub.Config{HubID: "ln"})
}

func listenerHubWith(t *testing.T, headerTimeout time.Duration, cfg hub.Config) (addr string, srvDone <-chan error, ln net.Listener) {
	t.Helper()
	w := testkit.NewWorld(t, nil)
	w.Auction(auction.CreateRequest{ID: "lamp", Title: "Lamp", StartingPrice: "1.00", Increment: "1.00"})
	prom := prometheus.NewRegistry()
	rr := w.Registry(w.Kinds(w.Deps(txn.NewMetrics(prom))), prom, rooms.Config{})
	cfg.Clock, cfg.Logger = w.Clock, w.Logger
	h := hub.New(rr, prom, cfg)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = h.Listener(raw, "/ws", headerTimeout)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: headerTimeout}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.CloseAll(ctx)
		_ = srv.Shutdown(ctx)
	})
	return raw.Addr().String(), done, ln
}

// upgradeRequest is a WebSocket opening handshake for path.
func upgradeRequest(path string) string {
	var k [16]byte
	_, _ = rand.Read(k[:])
	return "GET " + path + " HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(k[:]) + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

// clientFrame is a masked text frame carrying s (under 126 bytes).
func clientFrame(s string) []byte {
	key := [4]byte{1, 2, 3, 4}
	b := []byte{0x81, 0x80 | byte(len(s))}
	b = append(b, key[:]...)
	for i := range len(s) {
		b = append(b, s[i]^key[i%4])
	}
	return b
}

// serverFrame reads one unmasked text frame's payload.
func serverFrame(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var b [2]byte
		_, _ = io.ReadFull(r, b[:])
		n = int(binary.BigEndian.Uint16(b[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	return string(p)
}

func dialRaw(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// Sockets are answered at the listener; every other first request, and a
// socket opened later on a kept-alive connection, go through net/http as
// before; a GET of the socket path that is no upgrade is refused and closed.
func TestListenerServesSocketsAndHandsTheRestOver(t *testing.T) {
	addr, _, _ := listenerHub(t, 10*time.Second)

	ws := testkit.DialURL(t, "ws://"+addr+"/ws?user=ann&batch=1", nil)
	if m := ws.Next(); m["type"] != "welcome" || m["user"] != "ann" {
		t.Fatalf("first frame %v, want ann's welcome", m)
	}
	ws.Send(map[string]any{"type": "join", "room": "auction:lamp"})
	ws.Until("joined")

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("GET /healthz: %d %q", resp.StatusCode, body)
	}
	if resp, err = http.Get("http://" + addr + "/wsx"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /wsx: %v, %v; want net/http's 404", resp, err)
	}
	resp.Body.Close()

	// A kept-alive connection: an API request first, then a socket.
	c, r := dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("kept-alive GET /healthz: %v, %v", resp, err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	_, _ = io.WriteString(c, upgradeRequest("/ws?user=bob"))
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade on a kept-alive connection: %v, %v", resp, err)
	}
	if f := serverFrame(t, r); !strings.Contains(f, `"type":"welcome"`) || !strings.Contains(f, `"user":"bob"`) {
		t.Fatalf("first frame %s, want bob's welcome", f)
	}

	// GET /ws without the upgrade: refused, with a body, and closed.
	c, r = dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET /ws?user=cat HTTP/1.1\r\nHost: hub\r\n\r\n")
	resp, err = http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusUpgradeRequired || !resp.Close {
		t.Fatalf("GET /ws without upgrade: %v, %v; want 426 and the connection closed", resp, err)
	}
	if body, _ := io.ReadAll(resp.Body); len(body) == 0 {
		t.Fatal("the refusal has no body")
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the refusal: %v, want the connection closed", err)
	}
}

// A client that sends its first message right behind its request, before
// the answer, loses nothing; one whose headers are too large, or that sends
// none in time, is answered or closed as net/http would.
func TestListenerFirstRequestEdges(t *testing.T) {
	addr, _, _ := listenerHub(t, 300*time.Millisecond)

	c, r := dialRaw(t, addr)
	join := `{"type":"join","room":"auction:lamp","ref":"j"}`
	_, _ = c.Write(append([]byte(upgradeRequest("/ws?user=dan")), clientFrame(join)...))
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v, %v", resp, err)
	}
	serverFrame(t, r) // welcome
	if f := serverFrame(t, r); !strings.Contains(f, `"type":"joined"`) || !strings.Contains(f, `"ref":"j"`) {
		t.Fatalf("frame %s, want the joined answering the frame sent with the request", f)
	}

	c, r = dialRaw(t, addr)
	huge := "GET /ws?user=eve HTTP/1.1\r\nHost: hub\r\nX-Big: " + strings.Repeat("a", http.DefaultMaxHeaderBytes+8192) + "\r\n\r\n"
	go func() { _, _ = io.WriteString(c, huge) }()
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("headers over the bound: %v, %v; want 431", resp, err)
	}

	c, r = dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET /ws?user=fay HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("HTTP/1.1 without Host: %v, %v; want 400", resp, err)
	}

	c, r = dialRaw(t, addr)
	start := time.Now()
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("a silent client: %v, want the connection closed", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("a silent client was closed after %v, want about the header timeout", waited)
	}
	c, r = dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET /w") // part of a request line, then nothing
	// Not the hub's to judge: net/http gets the bytes, and answers or
	// closes as it does without the listener.
	if rest, err := io.ReadAll(r); err != nil || (len(rest) > 0 && !strings.HasPrefix(string(rest), "HTTP/1.1 4")) {
		t.Fatalf("a client that stalled mid-line got %q, %v; want a 4xx or the connection closed", rest, err)
	}
}

// Closing the listener ends the server's Serve.
func TestListenerClose(t *testing.T) {
	_, done, ln := listenerHub(t, time.Second)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the listener closed")
	}
}

// A panic while answering a socket ends that connection, not the hub, as
// net/http does for a handler.
func TestListenerSurvivesAPanic(t *testing.T) {
	addr, _, _ := listenerHubWith(t, time.Second, hub.Config{HubID: "ln",
		ClientAddr: func(*http.Request) string { panic("boom") }})
	c, r := dialRaw(t, addr)
	_, _ = io.WriteString(c, upgradeRequest("/ws?user=gus"))
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the panic: %v, want the connection closed", err)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the hub after a panic: %v, %v; want it still serving", resp, err)
	}
	resp.Body.Close()
}
