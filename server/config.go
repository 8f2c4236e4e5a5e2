package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
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
	AWSRegion       string
	Migrate         bool
	TokenSecret     string
	HubID           string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	PollInterval    time.Duration
	MaxAttempts     int
	AllowOrigins    string
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
	c.MaxAttempts, err = envInt("HOTROW_TXN_MAX_ATTEMPTS", 10)
	keep(err)
	c.Migrate, err = envBool("HOTROW_MIGRATE", false)
	keep(err)
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", env("HOTROW_ADDR", ":8080"), "listen address (HOTROW_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL connection string; empty means the embedded store (DATABASE_URL)")
	fs.StringVar(&c.DSQLEndpoint, "dsql-endpoint", env("DSQL_ENDPOINT", ""), "Aurora DSQL cluster endpoint (DSQL_ENDPOINT)")
	fs.StringVar(&c.DSQLUser, "dsql-user", env("DSQL_USER", "admin"), "Aurora DSQL database role (DSQL_USER)")
	fs.StringVar(&c.AWSRegion, "region", env("AWS_REGION", ""), "AWS region for DSQL (AWS_REGION)")
	fs.BoolVar(&c.Migrate, "migrate", c.Migrate, "apply database migrations at start-up (HOTROW_MIGRATE)")
	fs.StringVar(&c.TokenSecret, "token-secret", env("HOTROW_TOKEN_SECRET", ""), "HS256 secret; when set, sockets need ?token=JWT (HOTROW_TOKEN_SECRET)")
	fs.StringVar(&c.HubID, "hub-id", env("HOTROW_HUB_ID", ""), "this instance's id in welcome frames (HOTROW_HUB_ID; default host name + random)")
	fs.StringVar(&c.LogLevel, "log-level", env("HOTROW_LOG_LEVEL", "info"), "debug, info, warn or error (HOTROW_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("HOTROW_LOG_FORMAT", "text"), "text or json (HOTROW_LOG_FORMAT)")
	fs.StringVar(&c.AllowOrigins, "allow-origins", env("HOTROW_ALLOW_ORIGINS", ""), "comma-separated extra WebSocket origin patterns (HOTROW_ALLOW_ORIGINS)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "longest graceful shutdown (HOTROW_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.PollInterval, "poll-interval", c.PollInterval, "how often watched rooms look for other hubs' commits (HOTROW_POLL_INTERVAL)")
	fs.IntVar(&c.MaxAttempts, "txn-max-attempts", c.MaxAttempts, "attempts per message before giving up (HOTROW_TXN_MAX_ATTEMPTS)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
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
