package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A socket is one client connection of the load client: a minimal
// WebSocket client (RFC 6455: the opening handshake, masked text frames out,
// unmasked frames in, pings answered, fragments joined), the same code for
// every server.
//
// It is this small on purpose. The load client shares the machine's cores
// with the server under test, so what it spends, the server does not get:
// with net/http's client (a transport, two goroutines and 8 KB of buffers
// per dial) and a general-purpose WebSocket library, the client took as
// much CPU as either server in a join storm, and the measures said as much
// about it as about them.
type socket struct {
	conn net.Conn
	br   *bufio.Reader
	msg  []byte // a fragmented message's pieces, joined

	wmu  sync.Mutex // a pong from the read loop and the caller's writes
	wbuf []byte
	mask uint32 // the next masking key (xorshift: masks need not be secret here)
}

// readLimit bounds one message from a server.
const readLimit = 4 << 20

// dialer spreads the load client's connections over many loopback source
// addresses (127.0.0.2, .3, ...), so that 10,000 sockets per server, and
// the TIME_WAIT they leave, never run out of ephemeral ports.
type dialer struct {
	next    atomic.Uint64
	sources int
}

// dial opens a socket to rawURL (ws://host:port/path?query), within ctx.
func (d *dialer) dial(ctx context.Context, rawURL string) (*socket, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "ws" {
		return nil, fmt.Errorf("dial %s: want a ws:// URL", rawURL)
	}
	nd := &net.Dialer{Timeout: 30 * time.Second}
	if d.sources > 1 {
		n := d.next.Add(1)
		nd.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, byte(n/250%250), byte(2+n%250))}
	}
	conn, err := nd.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	s := &socket{conn: conn, br: bufio.NewReaderSize(conn, 2048)}
	if err := s.handshake(ctx, u); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dial %s: %w", rawURL, err)
	}
	return s, nil
}

// handshake is the opening handshake (RFC 6455, section 4.1).
func (s *socket) handshake(ctx context.Context, u *url.URL) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = s.conn.SetDeadline(dl)
		defer s.conn.SetDeadline(time.Time{})
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	s.mask = binary.LittleEndian.Uint32(k[:]) | 1
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(s.conn, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(s.br, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return fmt.Errorf("the server answered %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		return fmt.Errorf("Sec-WebSocket-Accept is %q, want %q", got, want)
	}
	return nil
}

// acceptKey is the Sec-WebSocket-Accept answering key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// errClosed is a close frame from the server.
var errClosed = errors.New("the server closed the socket")

// read returns the next text or binary message; the slice is valid until
// the next read. Pings are answered on the way; a close frame ends it.
// Within ctx's deadline, if it has one; a read is otherwise ended by close.
func (s *socket) read(ctx context.Context) ([]byte, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = s.conn.SetReadDeadline(dl)
		defer s.conn.SetReadDeadline(time.Time{})
	}
	s.msg = s.msg[:0]
	for {
		fin, op, payload, err := s.frame()
		if err != nil {
			return nil, err
		}
		switch op {
		case opPing:
			if err := s.writeFrame(opPong, payload); err != nil {
				return nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			return nil, errClosed
		}
		if fin && len(s.msg) == 0 {
			return payload, nil // the usual unfragmented message: no copy
		}
		s.msg = append(s.msg, payload...)
		if fin {
			return s.msg, nil
		}
	}
}

// frame reads one frame; its payload is valid until the next read from br.
func (s *socket) frame() (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(s.br, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[1]&0x80 != 0 {
		return false, 0, nil, errors.New("a server frame is masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(s.br, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(s.br, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > readLimit || uint64(len(s.msg))+n > readLimit {
		return false, 0, nil, fmt.Errorf("a message over %d bytes", readLimit)
	}
	switch op {
	case opContinuation, opText, opBinary, opClose, opPing, opPong:
	default:
		return false, 0, nil, fmt.Errorf("unknown opcode %#x", op)
	}
	if int(n) <= s.br.Size() {
		// Read in place from the buffer: no copy for the usual frame.
		if payload, err = s.br.Peek(int(n)); err != nil {
			return
		}
		_, _ = s.br.Discard(int(n))
		return
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(s.br, payload)
	return
}

// write sends b as one text message.
func (s *socket) write(ctx context.Context, b []byte) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = s.conn.SetWriteDeadline(dl)
		defer s.conn.SetWriteDeadline(time.Time{})
	}
	return s.writeFrame(opText, b)
}

// writeFrame sends one final, masked frame.
func (s *socket) writeFrame(op byte, payload []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	b := append(s.wbuf[:0], 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(n))
	}
	s.mask ^= s.mask << 13
	s.mask ^= s.mask >> 17
	s.mask ^= s.mask << 5
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], s.mask)
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	s.wbuf = b
	_, err := s.conn.Write(b)
	return err
}

func (s *socket) close() { s.conn.Close() }

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
