package hub

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"
)

// readFrame reads one unmasked server frame off r.
func readFrame(t *testing.T, r io.Reader) (opcode byte, payload []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	if h[0]&0x80 == 0 || h[1]&0x80 != 0 {
		t.Fatalf("header %x: want a final, unmasked frame", h)
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(r, b[:])
		n = int(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(r, b[:])
		n = int(binary.BigEndian.Uint64(b[:]))
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0f, payload
}

// burstConn is a conn writing to one end of a pipe; the test reads the
// other.
func burstConn(t *testing.T, batch bool) (*conn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	h := &Hub{cfg: Config{}}
	h.cfg.defaults()
	return &conn{hub: h, nc: &netConn{Conn: a}, opts: Options{Batch: batch}}, b
}

// Every frame of a burst goes out back to back, headers sized for each
// payload (7-bit, 16-bit and 64-bit lengths).
func TestBurstWritesFramesBackToBack(t *testing.T) {
	c, peer := burstConn(t, false)
	frames := [][]byte{[]byte(`{"a":1}`), make([]byte, 300), make([]byte, 70000), pingFrame, []byte(`{"b":2}`)}
	errc := make(chan error, 1)
	go func() { errc <- c.writeBurst(frames) }()
	for i, want := range frames {
		op, p := readFrame(t, peer)
		switch {
		case isPing(want):
			if op != opPing || len(p) != 0 {
				t.Fatalf("frame %d: opcode %d, %d bytes; want an empty ping", i, op, len(p))
			}
		case op != opText || len(p) != len(want) || string(p) != string(want):
			t.Fatalf("frame %d: opcode %d, %d bytes; want text of %d bytes", i, op, len(p), len(want))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// A socket that asked for batches gets consecutive frames as one batch
// frame, in order; a ping stays a frame of its own; a lone frame is sent
// as is.
func TestBurstBatches(t *testing.T) {
	c, peer := burstConn(t, true)
	frames := [][]byte{[]byte(`{"n":1}`), []byte(`{"n":2}`), []byte(`{"n":3}`), pingFrame, []byte(`{"n":4}`)}
	go c.writeBurst(frames)
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	op, p := readFrame(t, peer)
	var batch struct {
		Type   string            `json:"type"`
		Frames []json.RawMessage `json:"frames"`
	}
	if err := json.Unmarshal(p, &batch); err != nil || op != opText || batch.Type != "batch" || len(batch.Frames) != 3 ||
		string(batch.Frames[0]) != `{"n":1}` || string(batch.Frames[2]) != `{"n":3}` {
		t.Fatalf("first frame %q (%v), want a batch of n=1..3", p, err)
	}
	if op, _ := readFrame(t, peer); op != opPing {
		t.Fatalf("second frame: opcode %d, want ping", op)
	}
	if op, p := readFrame(t, peer); op != opText || string(p) != `{"n":4}` {
		t.Fatalf("third frame %q, want n=4 alone", p)
	}
}

// A batch never grows past maxBatch: a long burst is split.
func TestBurstBatchBound(t *testing.T) {
	c, peer := burstConn(t, true)
	big := make([]byte, 0, 1000)
	big = append(append(append(big, `{"x":"`...), make([]byte, 990)...), `"}`...)
	for i := 6; i < 996; i++ {
		big[i] = 'x'
	}
	var frames [][]byte
	for range 200 { // about 200 KB
		frames = append(frames, big)
	}
	go c.writeBurst(frames)
	got := 0
	for got < len(frames) {
		_, p := readFrame(t, peer)
		if len(p) > maxBatch {
			t.Fatalf("a batch of %d bytes, over %d", len(p), maxBatch)
		}
		var batch struct{ Frames []json.RawMessage }
		if err := json.Unmarshal(p, &batch); err != nil {
			t.Fatalf("batch is not JSON: %v", err)
		}
		got += len(batch.Frames)
	}
}
