package hub

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tcpPair is a connected loopback TCP pair: the server's end (as a hub's
// netConn) and the client's.
func tcpPair(t *testing.T) (*netConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	nc := &netConn{}
	nc.init(server)
	t.Cleanup(func() { nc.Close(); client.Close() })
	return nc, client
}

// The writers send straight to the descriptor; after Close they send
// nothing, not even to a socket that took the closed one's descriptor
// number since.
func TestDirectSendStopsAtClose(t *testing.T) {
	nc, client := tcpPair(t)
	if n, err, tried := nc.tryWrite([]byte("hello")); !tried || err != nil || n != 5 {
		t.Fatalf("tryWrite = %d, %v, tried %v; want 5 bytes sent", n, err, tried)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(client, got); err != nil || string(got) != "hello" {
		t.Fatalf("client read %q, %v", got, err)
	}
	fd := nc.fd
	if err := nc.Close(); err != nil {
		t.Fatal(err)
	}
	// The kernel hands out the lowest free descriptor: a new connection
	// now likely has the closed one's number.
	other, peer := tcpPair(t)
	if n, err, tried := nc.tryWrite([]byte("stale")); !tried || !errors.Is(err, net.ErrClosed) || n != 0 {
		t.Fatalf("tryWrite after Close = %d, %v, tried %v; want net.ErrClosed", n, err, tried)
	}
	_ = peer.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, _ := peer.Read(make([]byte, 16)); n != 0 {
		t.Fatalf("a send after Close reached another socket (descriptor %d, now %d)", fd, other.fd)
	}
}

// A direct send never waits: with the client not reading, it takes what
// the kernel has room for and says so.
func TestDirectSendNeverWaits(t *testing.T) {
	nc, _ := tcpPair(t)
	big := make([]byte, 64<<20)
	done := make(chan struct{})
	var (
		n     int
		err   error
		tried bool
	)
	go func() { n, err, tried = nc.tryWrite(big); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("tryWrite waited for a client that does not read")
	}
	if !tried || err != nil || n == 0 || n >= len(big) {
		t.Fatalf("tryWrite = %d of %d bytes, %v, tried %v; want a part, no error", n, len(big), err, tried)
	}
}

// A connection without a descriptor (a pipe in tests, a TLS wrapper) is
// written the waiting way: tryWrite does not try.
func TestNoDescriptorNoDirectSend(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	nc := &netConn{}
	nc.init(a)
	if _, _, tried := nc.tryWrite([]byte("x")); tried {
		t.Fatal("tryWrite tried a connection without a descriptor")
	}
	if _, _, tried := (&netConn{Conn: a}).tryWrite([]byte("x")); tried {
		t.Fatal("tryWrite tried a netConn that was never set up")
	}
}

// The 101 answer the hub writes with the welcome keeps every header field
// (a middleware's too), and no value can end it early.
func TestSwitchingProtocolsAnswer(t *testing.T) {
	h := http.Header{}
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Evil", "a\r\n\r\nHTTP/1.1 200 OK")
	b := switchingProtocols(h)
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 101 Switching Protocols\r\n")) || !bytes.HasSuffix(b, []byte("\r\n\r\n")) {
		t.Fatalf("answer %q: want a 101 status line and an empty line at the end", b)
	}
	if n := bytes.Count(b, []byte("\r\n\r\n")); n != 1 {
		t.Fatalf("answer %q ends %d times", b, n)
	}
	resp, err := http.ReadResponse(newBufReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Upgrade", "Connection", "Sec-WebSocket-Accept", "X-Frame-Options"} {
		if resp.Header.Get(k) != h.Get(k) {
			t.Errorf("%s: %q, want %q", k, resp.Header.Get(k), h.Get(k))
		}
	}
	if v := resp.Header.Get("X-Evil"); strings.ContainsAny(v, "\r\n") || !strings.HasPrefix(v, "a") {
		t.Errorf("X-Evil: %q, want its CR and LF gone", v)
	}
}

func newBufReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
