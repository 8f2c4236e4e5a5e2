package main

import (
	"context"
	"hotrow/internal/testkit"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// FuzzClientFrame sends arbitrary frames over a real socket: the hub must
// neither panic nor stop answering. Plain `go test` runs the seeds (real
// frames, broken ones and edge cases); `go test -fuzz FuzzClientFrame
// ./server` explores further.
func FuzzClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ping","ref":"1"}`,
		`{"type":"join","room":"auction:lamp","since":1}`,
		`{"type":"join","room":"auction:lamp","since":99999999999999999999}`,
		`{"type":"leave","room":"auction:lamp"}`,
		`{"type":"bid","room":"auction:lamp","id":"x","amount":"10.00"}`,
		`{"type":"bid","room":"auction:lamp","id":"x","amount":{"a":1}}`,
		`{"type":"bid","room":"auction:lamp","id":"x","amount":"99999999999999999999.99"}`,
		`{"type":"edit","room":"schema:doc","id":"e","op":{"kind":"create_table","name":"t"}}`,
		`{"type":"cursor","room":"auction:lamp","pos":{"x":1}}`,
		`{"type":null}`, `{"type":1}`, `null`, `[]`, `""`, `{`, "\x00\xff", `{"type":"join","room":":"}`,
		`{"type":"join","room":"auction:` + string(make([]byte, 70)) + `"}`,
	} {
		f.Add(seed)
	}
	h := memHub(f)
	createAuction(f, h.url, `{"id":"lamp","title":"Lamp","starting_price":"10.00","increment":"1.00"}`)
	c := testkit.Dial(f, h.url, "fuzzer")
	f.Fuzz(func(t *testing.T, frame string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.WS.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatalf("write: %v", err)
		}
		if err := c.WS.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","ref":"alive"}`)); err != nil {
			t.Fatalf("write ping: %v", err)
		}
		for {
			m, err := c.Read(10 * time.Second)
			if err != nil {
				t.Fatalf("after %q the socket failed: %v", frame, err)
			}
			if m["type"] == "pong" && m["ref"] == "alive" {
				return
			}
		}
	})
}
