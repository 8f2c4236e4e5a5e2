package cursors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxPos is the largest cursor position, in bytes of compact JSON.
const MaxPos = 256

// Errors of Conn.Move.
var (
	ErrNotJoined  = errors.New("cursors: the socket has not joined the room")
	ErrPosInvalid = errors.New("cursors: pos must be a JSON object")
	ErrPosTooBig  = fmt.Errorf("cursors: pos must be at most %d bytes of JSON", MaxPos)
	ErrClosed     = errors.New("cursors: the cursor service is shutting down")
)

// NormalizePos checks that raw is a JSON object of at most MaxPos bytes once
// compacted, and returns the compact form.
func NormalizePos(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, ErrPosInvalid
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, ErrPosInvalid
	}
	if buf.Len() > MaxPos {
		return nil, ErrPosTooBig
	}
	return buf.Bytes(), nil
}
