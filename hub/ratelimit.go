package hub

import (
	"encoding/json"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"hotrow/internal/textutil"
)

// newMessageLimiter is one socket's message rate: cfg.RateLimit frames a
// second with bursts of cfg.RateBurst; a negative RateLimit means no limit.
// It belongs to the socket's read loop, which passes the hub's clock.
func newMessageLimiter(cfg Config) *rate.Limiter {
	if cfg.RateLimit < 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	return rate.NewLimiter(rate.Limit(cfg.RateLimit), int(cfg.RateBurst))
}

// refOf reads the ref of a frame refused before it was dispatched, so that
// even that reply carries it when the frame has a readable one.
func refOf(typ websocket.MessageType, data []byte) string {
	if typ != websocket.MessageText {
		return ""
	}
	var f struct {
		Ref string `json:"ref"`
	}
	if json.Unmarshal(data, &f) != nil || !validRef(f.Ref) {
		return ""
	}
	return f.Ref
}

// validRef reports whether ref may be echoed: at most maxRefChars
// characters.
func validRef(ref string) bool { return textutil.Chars(ref) <= maxRefChars }

// maxRefChars and maxIDChars are the longest ref and mutation id, in
// characters (docs/protocol.md, "Client messages").
const (
	maxRefChars = 64
	maxIDChars  = 64
)
