// Package natsbus is the event bus between hubs (rooms.Bus, and the
// cursors' cursors.Bus) on NATS, through github.com/nats-io/nats.go.
//
// Subjects: a room's committed events travel on PREFIX.events.ROOM and its
// cursor batches on PREFIX.cursors.ROOM (PREFIX is "hotrow" unless set), so
// a hub subscribes only to the rooms it serves. An event message carries the
// event's wire frame as its body and the headers Hotrow-Version and
// Hotrow-Sent (the publishing hub's clock, Unix nanoseconds). Core NATS
// delivers at most once: the rooms fill what it loses from the event log.
//
// The connection never gives up: it is made in the background when NATS is
// not there at start-up, and re-made after every disconnection, with the
// subscriptions restored; publishes made meanwhile are buffered (up to
// ReconnectBuffer bytes) and sent on reconnection.
package natsbus

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"hotrow/rooms"
	"hotrow/rooms/cursors"
)

// Config says how to reach NATS. Only URL is required.
type Config struct {
	// URL is one NATS server URL or several, comma-separated
	// (nats://host:4222, tls://host:4222; user:password@ works too).
	URL string
	// Name names the connection in the server's monitoring (the hub id).
	Name string
	// SubjectPrefix starts every subject; default "hotrow". Hubs that share
	// rooms must use the same one.
	SubjectPrefix string

	// Credentials: at most one way is normally set.
	CredsFile string // a .creds file (user JWT and nkey seed)
	NKeyFile  string // a file holding a user nkey seed
	User      string // with Password
	Password  string
	Token     string

	// TLS: a CA to verify the server with, and a client certificate for
	// servers that require one.
	TLSCAFile, TLSCertFile, TLSKeyFile string

	// ReconnectWait is the pause between reconnection attempts (with
	// jitter). Default 250ms.
	ReconnectWait time.Duration
	// ReconnectBuffer bounds the bytes of publishes buffered while
	// disconnected; beyond it a publish fails (the log still has the
	// event). Default 8 MiB.
	ReconnectBuffer int
	// PendingLimit bounds the messages a subscription holds unread; beyond
	// it NATS drops (counted as hotrow_bus_dropped_total). Default 65536.
	PendingLimit int

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Bus is a connection to NATS carrying events and cursor batches.
type Bus struct {
	nc      *nats.Conn
	prefix  string
	pending int
	log     *slog.Logger
	m       *metrics
}

var (
	_ rooms.Bus   = (*Bus)(nil)
	_ cursors.Bus = (*Bus)(nil)
)

// Headers of an event message.
const (
	HeaderVersion = "Hotrow-Version"
	HeaderSent    = "Hotrow-Sent"
)

// Connect starts the connection to NATS. It fails only on a configuration
// error (a missing credentials file, a bad URL); a server that cannot be
// reached yet is retried in the background while Up reports false.
func Connect(cfg Config) (*Bus, error) {
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, errors.New("natsbus: no NATS URL")
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = "hotrow"
	}
	if err := checkToken(cfg.SubjectPrefix); err != nil {
		return nil, fmt.Errorf("natsbus: subject prefix: %w", err)
	}
	if cfg.ReconnectWait <= 0 {
		cfg.ReconnectWait = 250 * time.Millisecond
	}
	if cfg.ReconnectBuffer <= 0 {
		cfg.ReconnectBuffer = 8 << 20
	}
	if cfg.PendingLimit <= 0 {
		cfg.PendingLimit = 65536
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := &Bus{prefix: cfg.SubjectPrefix, pending: cfg.PendingLimit, log: cfg.Logger}
	opts, err := options(cfg, b)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connecting to %s: %w", redact(cfg.URL), err)
	}
	b.nc = nc
	b.m = newMetrics(cfg.Registerer, nc)
	if nc.IsConnected() {
		b.log.Info("bus: connected to NATS", "server", nc.ConnectedUrlRedacted())
	} else {
		b.log.Warn("bus: NATS not reachable yet; retrying in the background, polling meanwhile", "url", redact(cfg.URL))
	}
	return b, nil
}

// options turns the configuration into nats.go options.
func options(cfg Config, b *Bus) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name(cfg.Name),
		// A hub has its own events and batches already.
		nats.NoEcho(),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.ReconnectWait),
		nats.ReconnectJitter(cfg.ReconnectWait/2, cfg.ReconnectWait),
		nats.ReconnectBufSize(cfg.ReconnectBuffer),
		nats.PingInterval(10 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.ConnectHandler(func(nc *nats.Conn) {
			b.log.Info("bus: connected to NATS", "server", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			b.log.Warn("bus: disconnected from NATS; polling at the fast interval until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.m.reconnects.Inc()
			b.log.Info("bus: reconnected to NATS", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				b.m.dropped.Inc()
				return
			}
			b.log.Warn("bus: NATS error", "err", err)
		}),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("natsbus: reading the nkey seed %s: %w", cfg.NKeyFile, err)
		}
		opts = append(opts, o)
	}
	if cfg.User != "" || cfg.Password != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.TLSCAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCAFile))
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("natsbus: a TLS client certificate needs both the certificate and the key file")
	}
	if cfg.TLSCertFile != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCertFile, cfg.TLSKeyFile))
	}
	return opts, nil
}

// Up implements rooms.Bus.
func (b *Bus) Up() bool { return b.nc.IsConnected() }

// Status says how the bus is, for /readyz.
func (b *Bus) Status() string {
	if b.nc.IsConnected() {
		return "connected to " + b.nc.ConnectedUrlRedacted()
	}
	return strings.ToLower(b.nc.Status().String())
}

// Close closes the connection; subscriptions end with it.
func (b *Bus) Close() { b.nc.Close() }

func (b *Bus) subject(kind, room string) (string, error) {
	if err := checkToken(room); err != nil {
		return "", fmt.Errorf("natsbus: room %q: %w", room, err)
	}
	return b.prefix + "." + kind + "." + room, nil
}

// PublishEvent implements rooms.Bus.
func (b *Bus) PublishEvent(ev rooms.BusEvent) error {
	subj, err := b.subject("events", ev.Room)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(subj)
	msg.Header.Set(HeaderVersion, strconv.FormatInt(ev.Version, 10))
	msg.Header.Set(HeaderSent, strconv.FormatInt(ev.Sent.UnixNano(), 10))
	msg.Data = ev.Frame
	if err := b.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("natsbus: publishing %s v%d: %w", ev.Room, ev.Version, err)
	}
	return nil
}

// SubscribeEvents implements rooms.Bus.
func (b *Bus) SubscribeEvents(room string, fn func(rooms.BusEvent)) (func(), error) {
	return b.subscribe("events", room, func(m *nats.Msg) {
		v, err := strconv.ParseInt(m.Header.Get(HeaderVersion), 10, 64)
		if err != nil {
			b.log.Warn("bus: event without a version header", "subject", m.Subject)
			return
		}
		var sent time.Time
		if ns, err := strconv.ParseInt(m.Header.Get(HeaderSent), 10, 64); err == nil {
			sent = time.Unix(0, ns)
		}
		fn(rooms.BusEvent{Room: room, Version: v, Frame: m.Data, Sent: sent})
	})
}

// PublishCursors implements cursors.Bus.
func (b *Bus) PublishCursors(room string, batch []byte) error {
	subj, err := b.subject("cursors", room)
	if err != nil {
		return err
	}
	if err := b.nc.Publish(subj, batch); err != nil {
		return fmt.Errorf("natsbus: publishing cursors of %s: %w", room, err)
	}
	return nil
}

// SubscribeCursors implements cursors.Bus.
func (b *Bus) SubscribeCursors(room string, fn func(batch []byte)) (func(), error) {
	return b.subscribe("cursors", room, func(m *nats.Msg) { fn(m.Data) })
}

func (b *Bus) subscribe(kind, room string, h nats.MsgHandler) (func(), error) {
	subj, err := b.subject(kind, room)
	if err != nil {
		return nil, err
	}
	sub, err := b.nc.Subscribe(subj, func(m *nats.Msg) {
		b.m.received.WithLabelValues(kind).Inc()
		h(m)
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: subscribing to %s: %w", subj, err)
	}
	if err := sub.SetPendingLimits(b.pending, -1); err != nil {
		b.log.Warn("bus: setting pending limits failed", "subject", subj, "err", err)
	}
	return func() {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			b.log.Debug("bus: unsubscribing failed", "subject", subj, "err", err)
		}
	}, nil
}

// checkToken refuses what cannot be one token of a subject.
func checkToken(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if strings.ContainsAny(s, ". *>\t\r\n") {
		return errors.New("must not contain '.', '*', '>' or white space")
	}
	return nil
}

// redact hides the passwords of URLs for logs.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
				parts[i] = p[:scheme+3] + "***@" + p[at+1:]
			}
		}
	}
	return strings.Join(parts, ",")
}
