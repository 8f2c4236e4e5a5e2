package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// config is the hub's configuration: flags first, then the environment,
// then the defaults. Every setting is listed in the README.
type config struct {
	Addr            string
	DatabaseURL     string
	DSQLEndpoint    string
	DSQLUser        string
	DSQLDialAddr    string
	AWSRegion       string
	AWSRegionSource string // the flag or variable AWSRegion came from
	Migrate         bool
	DBPipeline      bool
	TokenSecret     string
	HubID           string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	PollInterval    time.Duration
	BusPollInterval time.Duration
	MaxAttempts     int
	AllowOrigins    string
	MaxReplay       int
	IDWindow        int
	PprofAddr       string

	// hotrow compact
	KeepEvents   int
	KeepFor      time.Duration
	CompactBatch int

	// Rights and limits (README, "Security"). A rate or cap of 0 is off.
	DefaultRights    string // JSON rights of a token without a rights claim; empty: watch and every op on every room
	TrustedProxies   string // comma-separated proxies whose X-Forwarded-For is believed
	WSMsgRate        float64
	WSMsgBurst       int
	WSConnRate       float64
	WSConnBurst      int
	MaxConns         int
	MaxConnsPerAddr  int
	HTTPRate         float64
	HTTPBurst        int
	HTTPWriteRate    float64
	HTTPWriteBurst   int
	HTTPReadTimeout  time.Duration
	HTTPWriteTimeout time.Duration
	HTTPIdleTimeout  time.Duration

	DynamoTable         string
	DynamoEndpoint      string
	DynamoShards        int
	CursorTick          time.Duration
	CursorTTL           time.Duration
	CursorWriteInterval time.Duration
	CursorPollInterval  time.Duration

	PingInterval time.Duration
	PongWait     time.Duration
	WSWriters    int // goroutines writing sockets; default half the processors
	NATS         natsConfig
}

// natsConfig is the event bus between hubs: none without a URL.
type natsConfig struct {
	URL           string
	SubjectPrefix string
	CredsFile     string
	NKeyFile      string
	User          string
	Password      string
	Token         string
	TLSCAFile     string
	TLSCertFile   string
	TLSKeyFile    string
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) (time.Duration, error) {
	v := env(name, "")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 250ms or 15s", name, v)
	}
	return d, nil
}

func envInt(name string, def int) (int, error) {
	v := env(name, "")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive whole number", name, v)
	}
	return n, nil
}

// envRate reads a rate (events a second); 0 turns the limit off.
func envRate(name string, def float64) (float64, error) {
	v := env(name, "")
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f != f {
		return 0, fmt.Errorf("%s=%q: want a rate of 0 or more a second (0 turns the limit off)", name, v)
	}
	return f, nil
}

// envCount reads a count of 0 or more; 0 turns the cap off.
func envCount(name string, def int) (int, error) {
	v := env(name, "")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number of 0 or more (0 turns the cap off)", name, v)
	}
	return n, nil
}

func envBool(name string, def bool) (bool, error) {
	v := env(name, "")
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

// parseServeConfig reads the serve (and migrate) settings.
func parseServeConfig(name string, args []string) (config, error) {
	var c config
	var err error
	errs := []error{}
	keep := func(e error) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	c.ShutdownTimeout, err = envDuration("HOTROW_SHUTDOWN_TIMEOUT", 15*time.Second)
	keep(err)
	c.PollInterval, err = envDuration("HOTROW_POLL_INTERVAL", 250*time.Millisecond)
	keep(err)
	c.BusPollInterval, err = envDuration("HOTROW_BUS_POLL_INTERVAL", 2*time.Second)
	keep(err)
	c.MaxAttempts, err = envInt("HOTROW_TXN_MAX_ATTEMPTS", 10)
	keep(err)
	c.MaxReplay, err = envInt("HOTROW_MAX_REPLAY", 1000)
	keep(err)
	c.IDWindow, err = envInt("HOTROW_ID_WINDOW", 4096)
	keep(err)
	c.KeepEvents, err = envInt("HOTROW_KEEP_EVENTS", 10000)
	keep(err)
	c.KeepFor, err = envDuration("HOTROW_KEEP_FOR", 24*time.Hour)
	keep(err)
	c.CompactBatch, err = envInt("HOTROW_COMPACT_BATCH", 1000)
	keep(err)
	c.Migrate, err = envBool("HOTROW_MIGRATE", false)
	keep(err)
	c.DBPipeline, err = envBool("HOTROW_DB_PIPELINE", true)
	keep(err)
	c.DynamoShards, err = envInt("DYNAMODB_CURSOR_SHARDS", 16)
	keep(err)
	c.CursorTick, err = envDuration("HOTROW_CURSOR_TICK", 50*time.Millisecond)
	keep(err)
	c.CursorTTL, err = envDuration("HOTROW_CURSOR_TTL", 30*time.Second)
	keep(err)
	c.CursorWriteInterval, err = envDuration("HOTROW_CURSOR_WRITE_INTERVAL", time.Second)
	keep(err)
	c.CursorPollInterval, err = envDuration("HOTROW_CURSOR_POLL_INTERVAL", time.Second)
	keep(err)
	c.WSMsgRate, err = envRate("HOTROW_WS_MSG_RATE", 100)
	keep(err)
	c.WSMsgBurst, err = envCount("HOTROW_WS_MSG_BURST", 200)
	keep(err)
	c.WSConnRate, err = envRate("HOTROW_WS_CONN_RATE", 20)
	keep(err)
	c.WSConnBurst, err = envCount("HOTROW_WS_CONN_BURST", 300)
	keep(err)
	c.MaxConns, err = envCount("HOTROW_MAX_CONNS", 10_000)
	keep(err)
	c.MaxConnsPerAddr, err = envCount("HOTROW_MAX_CONNS_PER_ADDR", 500)
	keep(err)
	c.HTTPRate, err = envRate("HOTROW_HTTP_RATE", 50)
	keep(err)
	c.HTTPBurst, err = envCount("HOTROW_HTTP_BURST", 100)
	keep(err)
	c.HTTPWriteRate, err = envRate("HOTROW_HTTP_WRITE_RATE", 2)
	keep(err)
	c.HTTPWriteBurst, err = envCount("HOTROW_HTTP_WRITE_BURST", 20)
	keep(err)
	c.HTTPReadTimeout, err = envDuration("HOTROW_HTTP_READ_TIMEOUT", 30*time.Second)
	keep(err)
	c.HTTPWriteTimeout, err = envDuration("HOTROW_HTTP_WRITE_TIMEOUT", 30*time.Second)
	keep(err)
	c.HTTPIdleTimeout, err = envDuration("HOTROW_HTTP_IDLE_TIMEOUT", 2*time.Minute)
	keep(err)
	c.PingInterval, err = envDuration("HOTROW_PING_INTERVAL", 25*time.Second)
	keep(err)
	c.PongWait, err = envDuration("HOTROW_PONG_WAIT", 10*time.Second)
	keep(err)
	c.WSWriters, err = envInt("HOTROW_WS_WRITERS", max(1, runtime.GOMAXPROCS(0)/2))
	keep(err)
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", env("HOTROW_ADDR", ":8080"), "listen address (HOTROW_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL connection string; empty means the embedded store (DATABASE_URL)")
	fs.StringVar(&c.DSQLEndpoint, "dsql-endpoint", env("DSQL_ENDPOINT", ""), "Aurora DSQL cluster endpoint (DSQL_ENDPOINT)")
	fs.StringVar(&c.DSQLUser, "dsql-user", env("DSQL_USER", "admin"), "Aurora DSQL database role (DSQL_USER)")
	fs.StringVar(&c.DSQLDialAddr, "dsql-dial-addr", env("DSQL_DIAL_ADDR", ""), "host:port to dial instead of the DSQL endpoint, e.g. a proxy; TLS and tokens still name the endpoint (DSQL_DIAL_ADDR)")
	region := fs.String("region", "", "AWS region for DSQL and DynamoDB (AWS_REGION, then AWS_DEFAULT_REGION; DSQL's is read from its endpoint)")
	fs.BoolVar(&c.Migrate, "migrate", c.Migrate, "apply database migrations at start-up (HOTROW_MIGRATE)")
	fs.BoolVar(&c.DBPipeline, "db-pipeline", c.DBPipeline, "send a bid's or edit's transaction in two pipelined round trips; false sends one statement per round trip (HOTROW_DB_PIPELINE)")
	fs.StringVar(&c.TokenSecret, "token-secret", env("HOTROW_TOKEN_SECRET", ""), "HS256 secret; when set, sockets need ?token=JWT and the API Authorization: Bearer JWT; empty is development mode (HOTROW_TOKEN_SECRET)")
	fs.StringVar(&c.HubID, "hub-id", env("HOTROW_HUB_ID", ""), "this instance's id in welcome frames (HOTROW_HUB_ID; default host name + random)")
	fs.StringVar(&c.LogLevel, "log-level", env("HOTROW_LOG_LEVEL", "info"), "debug, info, warn or error (HOTROW_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("HOTROW_LOG_FORMAT", "text"), "text or json (HOTROW_LOG_FORMAT)")
	fs.StringVar(&c.AllowOrigins, "allow-origins", env("HOTROW_ALLOW_ORIGINS", ""), "comma-separated extra origin patterns for sockets and API writes (HOTROW_ALLOW_ORIGINS)")
	fs.StringVar(&c.DefaultRights, "default-rights", env("HOTROW_DEFAULT_RIGHTS", ""), "rights (JSON) of a token without a rights claim; empty: watch and every op on every room (HOTROW_DEFAULT_RIGHTS)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("HOTROW_TRUSTED_PROXIES", ""), "comma-separated proxy addresses or CIDRs whose X-Forwarded-For names the client (HOTROW_TRUSTED_PROXIES)")
	fs.Float64Var(&c.WSMsgRate, "ws-msg-rate", c.WSMsgRate, "messages a second per socket; 0 is off (HOTROW_WS_MSG_RATE)")
	fs.IntVar(&c.WSMsgBurst, "ws-msg-burst", c.WSMsgBurst, "message burst per socket (HOTROW_WS_MSG_BURST)")
	fs.Float64Var(&c.WSConnRate, "ws-conn-rate", c.WSConnRate, "new sockets a second per client address; 0 is off (HOTROW_WS_CONN_RATE)")
	fs.IntVar(&c.WSConnBurst, "ws-conn-burst", c.WSConnBurst, "new-socket burst per client address (HOTROW_WS_CONN_BURST)")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "open sockets on this hub; 0 is no cap (HOTROW_MAX_CONNS)")
	fs.IntVar(&c.MaxConnsPerAddr, "max-conns-per-addr", c.MaxConnsPerAddr, "open sockets per client address; 0 is no cap (HOTROW_MAX_CONNS_PER_ADDR)")
	fs.Float64Var(&c.HTTPRate, "http-rate", c.HTTPRate, "API requests a second per client address; 0 is off (HOTROW_HTTP_RATE)")
	fs.IntVar(&c.HTTPBurst, "http-burst", c.HTTPBurst, "API request burst per client address (HOTROW_HTTP_BURST)")
	fs.Float64Var(&c.HTTPWriteRate, "http-write-rate", c.HTTPWriteRate, "state-changing API requests a second per client address; 0 is off (HOTROW_HTTP_WRITE_RATE)")
	fs.IntVar(&c.HTTPWriteBurst, "http-write-burst", c.HTTPWriteBurst, "state-changing API request burst per client address (HOTROW_HTTP_WRITE_BURST)")
	fs.DurationVar(&c.HTTPReadTimeout, "http-read-timeout", c.HTTPReadTimeout, "longest time to read a request, body included (HOTROW_HTTP_READ_TIMEOUT)")
	fs.DurationVar(&c.HTTPWriteTimeout, "http-write-timeout", c.HTTPWriteTimeout, "longest time to write a response (HOTROW_HTTP_WRITE_TIMEOUT)")
	fs.DurationVar(&c.HTTPIdleTimeout, "http-idle-timeout", c.HTTPIdleTimeout, "how long an idle keep-alive connection stays open (HOTROW_HTTP_IDLE_TIMEOUT)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", env("HOTROW_PPROF_ADDR", ""), "serve net/http/pprof on this address, e.g. 127.0.0.1:6060; empty: off (HOTROW_PPROF_ADDR)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "longest graceful shutdown (HOTROW_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.PollInterval, "poll-interval", c.PollInterval, "how often watched rooms look for other hubs' commits without a bus or while it is down (HOTROW_POLL_INTERVAL)")
	fs.DurationVar(&c.BusPollInterval, "bus-poll-interval", c.BusPollInterval, "how often watched rooms poll while the NATS bus is up: the safety net (HOTROW_BUS_POLL_INTERVAL)")
	fs.StringVar(&c.NATS.URL, "nats-url", env("NATS_URL", ""), "NATS server URL(s), comma-separated; empty means no bus between hubs (NATS_URL)")
	fs.StringVar(&c.NATS.SubjectPrefix, "nats-subject-prefix", env("NATS_SUBJECT_PREFIX", "hotrow"), "first token of every NATS subject; hubs sharing rooms use the same (NATS_SUBJECT_PREFIX)")
	fs.StringVar(&c.NATS.CredsFile, "nats-creds", env("NATS_CREDS", ""), "NATS credentials file, user JWT and seed (NATS_CREDS)")
	fs.StringVar(&c.NATS.NKeyFile, "nats-nkey", env("NATS_NKEY", ""), "file holding a NATS user nkey seed (NATS_NKEY)")
	fs.StringVar(&c.NATS.User, "nats-user", env("NATS_USER", ""), "NATS user name, with NATS_PASSWORD (NATS_USER)")
	fs.StringVar(&c.NATS.TLSCAFile, "nats-tls-ca", env("NATS_TLS_CA", ""), "CA certificate file to verify the NATS server with (NATS_TLS_CA)")
	fs.StringVar(&c.NATS.TLSCertFile, "nats-tls-cert", env("NATS_TLS_CERT", ""), "client certificate file for NATS, with -nats-tls-key (NATS_TLS_CERT)")
	fs.StringVar(&c.NATS.TLSKeyFile, "nats-tls-key", env("NATS_TLS_KEY", ""), "client key file for NATS (NATS_TLS_KEY)")
	// Secrets come from the environment only, never from flags that other
	// users of the machine can read.
	c.NATS.Password = env("NATS_PASSWORD", "")
	c.NATS.Token = env("NATS_TOKEN", "")
	fs.IntVar(&c.MaxAttempts, "txn-max-attempts", c.MaxAttempts, "attempts per message before giving up (HOTROW_TXN_MAX_ATTEMPTS)")
	fs.IntVar(&c.MaxReplay, "max-replay", c.MaxReplay, "most events a join with since is answered with; further behind, the full state (HOTROW_MAX_REPLAY)")
	fs.IntVar(&c.IDWindow, "id-window", c.IDWindow, "versions per room whose message ids and acks stay in memory (HOTROW_ID_WINDOW)")
	if name == "compact" {
		fs.IntVar(&c.KeepEvents, "keep-events", c.KeepEvents, "newest events kept per room (HOTROW_KEEP_EVENTS)")
		fs.DurationVar(&c.KeepFor, "keep-for", c.KeepFor, "events younger than this are kept (HOTROW_KEEP_FOR)")
		fs.IntVar(&c.CompactBatch, "batch", c.CompactBatch, "most rows deleted per transaction, at most 3000 (HOTROW_COMPACT_BATCH)")
	}
	fs.StringVar(&c.DynamoTable, "dynamodb-table", env("DYNAMODB_TABLE", ""), "DynamoDB table for cursors; empty keeps them in memory (DYNAMODB_TABLE)")
	fs.StringVar(&c.DynamoEndpoint, "dynamodb-endpoint", env("DYNAMODB_ENDPOINT", ""), "DynamoDB endpoint URL, e.g. dynalite's (DYNAMODB_ENDPOINT)")
	fs.IntVar(&c.DynamoShards, "dynamodb-cursor-shards", c.DynamoShards, "partition keys each room's cursor items spread over, 1-256; the same on every hub (DYNAMODB_CURSOR_SHARDS)")
	fs.DurationVar(&c.CursorTick, "cursor-tick", c.CursorTick, "at most one cursors frame per room per tick (HOTROW_CURSOR_TICK)")
	fs.DurationVar(&c.CursorTTL, "cursor-ttl", c.CursorTTL, "a stored cursor's lifetime without refresh (HOTROW_CURSOR_TTL)")
	fs.DurationVar(&c.CursorWriteInterval, "cursor-write-interval", c.CursorWriteInterval, "at most one cursor store write per user and room per interval (HOTROW_CURSOR_WRITE_INTERVAL)")
	fs.DurationVar(&c.CursorPollInterval, "cursor-poll-interval", c.CursorPollInterval, "how often rooms read other hubs' cursors (HOTROW_CURSOR_POLL_INTERVAL)")
	fs.DurationVar(&c.PingInterval, "ping-interval", c.PingInterval, "how often every socket is pinged (HOTROW_PING_INTERVAL)")
	fs.DurationVar(&c.PongWait, "pong-wait", c.PongWait, "how long a ping may go unanswered before the socket is closed (HOTROW_PONG_WAIT)")
	fs.IntVar(&c.WSWriters, "ws-writers", c.WSWriters, "goroutines writing to sockets; default half the processors, at least 1 (HOTROW_WS_WRITERS)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.WSWriters < 1 {
		return c, fmt.Errorf("-ws-writers=%d: want 1 or more", c.WSWriters)
	}
	if c.DynamoShards < 1 || c.DynamoShards > 256 {
		return c, fmt.Errorf("DYNAMODB_CURSOR_SHARDS=%d: want 1 to 256", c.DynamoShards)
	}
	switch {
	case *region != "":
		c.AWSRegion, c.AWSRegionSource = *region, "-region"
	case env("AWS_REGION", "") != "":
		c.AWSRegion, c.AWSRegionSource = env("AWS_REGION", ""), "AWS_REGION"
	case env("AWS_DEFAULT_REGION", "") != "":
		c.AWSRegion, c.AWSRegionSource = env("AWS_DEFAULT_REGION", ""), "AWS_DEFAULT_REGION"
	}
	if c.DatabaseURL != "" && c.DSQLEndpoint != "" {
		return c, errors.New("set DATABASE_URL or DSQL_ENDPOINT, not both")
	}
	if c.HubID == "" {
		h, _ := os.Hostname()
		if h == "" {
			h = "hub"
		}
		c.HubID = h + "-" + randomSuffix()
	}
	return c, nil
}
