//go:build linux

package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coder/websocket"
)

// sock is a lean protocol client for long runs: unlike testkit's, it keeps
// no frames and reports errors instead of failing the test, so goroutines
// can use it.
type sock struct{ ws *websocket.Conn }

func dial(ctx context.Context, base, user string) (*sock, error) {
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws?user="+user, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	s := &sock{ws: ws}
	if w, err := s.read(ctx); err != nil || w["type"] != "welcome" {
		ws.CloseNow()
		return nil, fmt.Errorf("welcome: %v %v", w, err)
	}
	return s, nil
}

func (s *sock) send(ctx context.Context, v any) error {
	b, _ := json.Marshal(v)
	return s.ws.Write(ctx, websocket.MessageText, b)
}

func (s *sock) read(ctx context.Context) (map[string]any, error) {
	_, b, err := s.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// await reads until match accepts a frame.
func (s *sock) await(ctx context.Context, match func(map[string]any) bool) (map[string]any, error) {
	for {
		m, err := s.read(ctx)
		if err != nil {
			return nil, err
		}
		if match(m) {
			return m, nil
		}
	}
}

// reply matches the ack, reject or error answering id (or ref).
func reply(key, val string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		switch m["type"] {
		case "ack", "reject", "error", "joined", "left":
			return m[key] == val
		}
		return false
	}
}

func (s *sock) close() { s.ws.CloseNow() }
