package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"hotrow/hub"
	"hotrow/internal/testkit"
	"hotrow/rooms/auction"
)

// FuzzClientFrame sends arbitrary frames over a real socket: the hub must
// neither panic nor stop answering. After each frame a ping must get its
// pong on the same socket, except for the two frames that close a socket by
// the contract: a text frame that is not UTF-8 (1007) and one over the read
// limit (1009); then the harness checks the close code and dials again.
//
// The hub under test has no message rate limit: the target is the
// dispatcher, and two frames per input would soon trip the limit and make
// the liveness ping fail (a false crasher). The limiter has tests of its
// own. Plain `go test` runs the seeds and testdata/fuzz; `go test -fuzz
// FuzzClientFrame ./hub` explores further (scripts/fuzz.sh, in make test).
func FuzzClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ping","ref":"1"}`,
		`{"type":"join","room":"auction:lamp","since":1}`,
		`{"type":"join","room":"auction:lamp","since":99999999999999999999}`,
		`{"type":"leave","room":"auction:lamp"}`,
		`{"type":"bid","room":"auction:lamp","id":"x","amount":"10.00"}`,
		`{"type":"bid","room":"auction:lamp","id":"x","amount":{"a":1}}`,
		`{"type":"bid","room":"auction:lamp","id":"x","amount":"99999999999999999999.99"}`,
		`{"type":"bid","room":"auction:lamp","id":"x\u0000","amount":"1000000000.00"}`,
		`{"type":"edit","room":"schema:doc","id":"e","op":{"kind":"create_table","name":"t"}}`,
		`{"type":"cursor","room":"auction:lamp","pos":{"x":1}}`,
		`{"type":"refresh","token":"x"}`,
		`{"type":"join","room":"auction:lamp","since":"3","ref":"r"}`,
		`{"type":null}`, `{"type":1}`, `null`, `[]`, `""`, `{`, "\x00\xff", `{"type":"join","room":":"}`,
		`{"type":"join","room":"auction:` + string(make([]byte, 70)) + `"}`,
	} {
		f.Add(seed)
	}
	w := testkit.NewWorld(f, nil)
	w.Auction(auction.CreateRequest{ID: "lamp", Title: "Lamp", StartingPrice: "10.00", Increment: "1.00"})
	w.Schema("doc", "Doc")
	h := w.StartHub(testkit.HubOptions{Cursors: true, Hub: hub.Config{RateLimit: -1, ConnRate: -1}})
	// The socket outlives each input (so state builds up, as in a real
	// session): it is dialled here, and again after a frame that closes it,
	// and closed when the fuzz run ends.
	var ws *websocket.Conn
	dial := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, testkit.WSURL(h.URL)+"/ws?user=fuzzer", nil)
		if err != nil {
			return err
		}
		c.SetReadLimit(1 << 20)
		if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), `"welcome"`) {
			c.CloseNow()
			return fmt.Errorf("no welcome: %q %v", b, err)
		}
		ws = c
		return nil
	}
	if err := dial(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		if ws != nil {
			ws.CloseNow()
		}
	})
	prev := "" // the input before, which a broken socket may owe to
	f.Fuzz(func(t *testing.T, frame string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Each input starts on a live socket: after a failure (which the
		// fuzzer then minimises by running more inputs) the next one dials
		// again, so that a failure is reported for the input that caused it.
		if ws == nil {
			if err := dial(); err != nil {
				t.Fatalf("dialling: %v", err)
			}
		}
		defer func() {
			prev = frame
			if t.Failed() {
				ws.CloseNow()
				ws = nil
			}
		}()
		if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			_, _, rerr := ws.Read(ctx)
			t.Fatalf("write: %v; read: %v (the input before was %q)", err, rerr, prev)
		}
		if want := closingCode(frame); want != 0 {
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					if code := websocket.CloseStatus(err); code != want {
						t.Fatalf("after %q the socket ended with %v (%v), want close %v", frame, code, err, want)
					}
					break
				}
			}
			ws.CloseNow()
			if err := dial(); err != nil {
				t.Fatalf("dialling again: %v", err)
			}
			return
		}
		if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","ref":"alive"}`)); err != nil {
			t.Fatalf("write ping: %v", err)
		}
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("after %q the socket failed: %v", frame, err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("after %q the hub sent invalid JSON %q", frame, b)
			}
			if m["type"] == "pong" && m["ref"] == "alive" {
				return
			}
		}
	})
}

// closingCode is the close code a frame must get, or 0 when the socket
// must stay open.
func closingCode(frame string) websocket.StatusCode {
	switch {
	case len(frame) > 16<<10:
		return websocket.StatusMessageTooBig
	case !utf8.ValidString(frame):
		return websocket.StatusInvalidFramePayloadData
	}
	return 0
}
