package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CentrifugoVersion is the release hotrow is measured against; make bench
// installs it with go install into a cache directory.
const CentrifugoVersion = "v6.9.1"

// centrifugoTarget runs Centrifugo configured as issue #15 says: anonymous
// clients may connect without a token and subscribe to channels without a
// namespace, the HTTP API has a key; everything else default (memory
// engine, presence off). Events are published with POST /api/publish.
type centrifugoTarget struct {
	bin  string
	dir  string // holds the config file
	addr string
	api  *http.Client
}

const centrifugoKey = "bench-key"

func (c *centrifugoTarget) name() string { return "Centrifugo " + CentrifugoVersion }

func (c *centrifugoTarget) start(ctx context.Context) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c.addr = addr
	_, port, _ := strings.Cut(addr, ":")
	p, _ := strconv.Atoi(port)
	cfg := map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": p},
		"client":      map[string]any{"allow_anonymous_connect_without_token": true},
		"channel": map[string]any{"without_namespace": map[string]any{
			"allow_subscribe_for_client": true, "allow_subscribe_for_anonymous": true}},
		"http_api": map[string]any{"key": centrifugoKey},
		"log":      map[string]any{"level": "warn"},
	}
	b, _ := json.Marshal(cfg)
	file := filepath.Join(c.dir, "centrifugo.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return nil, err
	}
	c.api = &http.Client{Timeout: 10 * time.Second}
	cmd := exec.Command(c.bin, "--config", file)
	// Its health endpoint is off by default: any answer will do.
	return startServer(ctx, "centrifugo", cmd, "http://"+addr+"/", true)
}

func (c *centrifugoTarget) room(_ context.Context, name string) (string, error) { return name, nil }

// Commands and replies are JSON objects, several per frame separated by
// newlines (Centrifugo's JSON protocol).
func (c *centrifugoTarget) join(ctx context.Context, d *dialer, room string, w *watcher) (time.Duration, error) {
	start := time.Now()
	s, err := d.dial(ctx, "ws://"+c.addr+"/connection/websocket")
	if err != nil {
		return 0, err
	}
	w.s = s
	if err := s.write(ctx, []byte(`{"id":1,"connect":{}}`)); err != nil {
		s.close()
		return 0, err
	}
	welcome := time.Duration(0)
	if err := c.await(ctx, s, w, `{"id":1,`, func() { welcome = time.Since(start) }); err != nil {
		return 0, fmt.Errorf("connecting: %w", err)
	}
	if err := s.write(ctx, []byte(`{"id":2,"subscribe":{"channel":"`+room+`"}}`)); err != nil {
		s.close()
		return 0, err
	}
	if err := c.await(ctx, s, w, `{"id":2,`, nil); err != nil {
		return 0, fmt.Errorf("subscribing: %w", err)
	}
	return welcome, nil
}

// await reads until the reply starting with prefix; an error reply fails.
func (c *centrifugoTarget) await(ctx context.Context, s *socket, w *watcher, prefix string, got func()) error {
	for {
		b, err := s.read(ctx)
		if err != nil {
			s.close()
			return err
		}
		w.frames.Add(1)
		for _, msg := range bytes.Split(b, []byte("\n")) {
			if !bytes.HasPrefix(msg, []byte(prefix)) {
				continue
			}
			if bytes.Contains(msg, []byte(`"error":`)) {
				s.close()
				return fmt.Errorf("%.200s", msg)
			}
			if got != nil {
				got()
			}
			return nil
		}
	}
}

func (c *centrifugoTarget) trigger(_ context.Context, _ *dialer, room string) (func(context.Context, int) error, func(), error) {
	send := func(ctx context.Context, n int) error {
		body := fmt.Sprintf(`{"channel":%q,"data":{"id":"t-%d"}}`, room, n)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.addr+"/api/publish", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", centrifugoKey)
		resp, err := c.api.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"error"`)) {
			return fmt.Errorf("publish: %s %s", resp.Status, b)
		}
		return nil
	}
	return send, func() {}, nil
}

// answer replies to the server's ping, an empty object, with one; the ping
// may come alone or among other messages of the frame.
func (c *centrifugoTarget) answer(b []byte) []byte {
	for _, msg := range bytes.Split(b, []byte("\n")) {
		if bytes.Equal(bytes.TrimSpace(msg), []byte(`{}`)) {
			return []byte(`{}`)
		}
	}
	return nil
}

func (c *centrifugoTarget) presence([]byte) int { return 0 }
