package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"
)

// hotrowTarget runs `hotrow serve` on the embedded store. Its watchers
// connect with the options a watching browser would use (docs/protocol.md,
// "Connection options"): events without the full auction state, and
// batches when the socket falls behind. A hub that predates those options
// ignores them.
type hotrowTarget struct {
	bin   string
	addr  string
	env   []string
	users atomic.Int64
}

func (h *hotrowTarget) name() string { return "hotrow" }

func (h *hotrowTarget) start(ctx context.Context) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	h.addr = addr
	// The per-address and per-hub socket limits are for the internet;
	// one load client on loopback opens thousands of sockets at once, as
	// it does against Centrifugo, which has no such limits.
	cmd := exec.Command(h.bin, "serve", "-addr", addr, "-log-level", "warn",
		"-max-conns", "0", "-max-conns-per-addr", "0", "-ws-conn-rate", "0")
	cmd.Env = append(cmd.Environ(), h.env...)
	return startServer(ctx, "hotrow", cmd, "http://"+addr+"/healthz", false)
}

// room creates an auction that stays open for the whole run and never
// extends: the fan-out's bids are its only events.
func (h *hotrowTarget) room(ctx context.Context, name string) (string, error) {
	body := fmt.Sprintf(`{"id":%q,"title":"bench","starting_price":"1.00","increment":"0.01","duration_s":7200,"anti_snipe_window_s":0,"anti_snipe_extend_s":0}`, name)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+h.addr+"/api/auctions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("creating auction %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("creating auction %s: %s %s", name, resp.Status, b)
	}
	return "auction:" + name, nil
}

func (h *hotrowTarget) url(user string) string {
	return "ws://" + h.addr + "/ws?user=" + user + "&event_state=0&batch=1"
}

func (h *hotrowTarget) join(ctx context.Context, d *dialer, room string, w *watcher) (time.Duration, error) {
	start := time.Now()
	s, err := d.dial(ctx, h.url(fmt.Sprintf("w%d", h.users.Add(1))))
	if err != nil {
		return 0, err
	}
	w.s = s
	b, err := s.read(ctx)
	if err != nil {
		s.close()
		return 0, fmt.Errorf("reading welcome: %w", err)
	}
	welcome := time.Since(start)
	if !bytes.HasPrefix(b, []byte(`{"type":"welcome"`)) {
		s.close()
		return 0, fmt.Errorf("first frame is not welcome: %.100s", b)
	}
	if err := s.write(ctx, []byte(`{"type":"join","room":"`+room+`"}`)); err != nil {
		s.close()
		return 0, err
	}
	for {
		b, err := s.read(ctx)
		if err != nil {
			s.close()
			return 0, fmt.Errorf("waiting for joined: %w", err)
		}
		w.frames.Add(1)
		// Scanned, not decoded, as every frame the watchers read: the
		// joined frame may come in a batch, with the joiner's presence.
		if n := h.presence(b); n > 0 {
			w.presenceBytes.Add(int64(n))
		}
		if i := bytes.Index(b, []byte(`{"type":"error"`)); i >= 0 {
			s.close()
			return 0, fmt.Errorf("join refused: %.200s", b[i:])
		}
		if bytes.Contains(b, []byte(`{"type":"joined"`)) {
			return welcome, nil
		}
	}
}

func (h *hotrowTarget) trigger(ctx context.Context, d *dialer, room string) (func(context.Context, int) error, func(), error) {
	s, err := d.dial(ctx, h.url("trigger"))
	if err != nil {
		return nil, nil, err
	}
	// Acks and errors are read and dropped; a rejected bid shows as events
	// missing on every watcher.
	go func() {
		for {
			if _, err := s.read(context.Background()); err != nil {
				return
			}
		}
	}()
	send := func(ctx context.Context, n int) error {
		// Bid n is 1.00 + n cents: each one is the new minimum.
		amount := 100 + n
		msg := fmt.Sprintf(`{"type":"bid","room":%q,"id":"t-%d","amount":"%d.%02d"}`, room, n, amount/100, amount%100)
		return s.write(ctx, []byte(msg))
	}
	return send, s.close, nil
}

func (h *hotrowTarget) answer([]byte) []byte { return nil }

// presence counts the bytes of the presence frames b holds (itself, or in a
// batch). It scans rather than decodes: every watcher runs it on every
// frame, and a load client that decoded each batch would spend on it the
// CPU the servers compete for (Centrifugo, with presence off, sends none).
func (h *hotrowTarget) presence(b []byte) int {
	n := 0
	for _, p := range presencePrefixes {
		for rest := b; ; {
			i := bytes.Index(rest, p)
			if i < 0 {
				break
			}
			size := objectLen(rest[i:])
			n += size
			rest = rest[i+max(size, 1):]
		}
	}
	return n
}

var presencePrefixes = [][]byte{[]byte(`{"type":"cursors"`), []byte(`{"type":"presence"`)}

// objectLen is the length of the JSON object b starts with (strings and
// nested objects skipped over), or len(b) if it does not end.
func objectLen(b []byte) int {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{':
			depth++
		case c == '}':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return len(b)
}
