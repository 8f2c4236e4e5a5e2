package dsql

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestPoolConfig(t *testing.T) {
	t.Setenv("PGOPTIONS", "-c default_transaction_isolation=serializable")
	t.Setenv("PGAPPNAME", "hotrow-test")
	t.Setenv("PGSSLMODE", "disable") // must not weaken TLS
	var retrieved atomic.Int64
	pc, err := PoolConfig(context.Background(), Config{
		Endpoint:    testEndpoint,
		Region:      "us-east-1",
		Credentials: countingCreds(staticCreds(), &retrieved),
	})
	if err != nil {
		t.Fatal(err)
	}
	cc := pc.ConnConfig
	if cc.Host != testEndpoint || cc.Port != 5432 || cc.User != "admin" || cc.Database != "postgres" {
		t.Errorf("host %q port %d user %q database %q", cc.Host, cc.Port, cc.User, cc.Database)
	}
	if cc.Password != "" {
		t.Errorf("pool config holds a password")
	}
	if cc.TLSConfig == nil {
		t.Fatal("TLS is off")
	}
	if cc.TLSConfig.ServerName != testEndpoint || cc.TLSConfig.InsecureSkipVerify || cc.TLSConfig.VerifyPeerCertificate != nil {
		t.Errorf("TLS ServerName %q InsecureSkipVerify %v: not verify-full", cc.TLSConfig.ServerName, cc.TLSConfig.InsecureSkipVerify)
	}
	if cc.TLSConfig.MinVersion < tls.VersionTLS12 {
		t.Errorf("TLS MinVersion %x below 1.2", cc.TLSConfig.MinVersion)
	}
	if len(cc.Fallbacks) != 0 {
		t.Errorf("%d fallbacks (a plaintext fallback would defeat verify-full)", len(cc.Fallbacks))
	}
	for k, v := range cc.RuntimeParams {
		if k != "application_name" {
			t.Errorf("runtime param %s=%q would be sent to DSQL", k, v)
		}
	}
	if cc.RuntimeParams["application_name"] != "hotrow-test" {
		t.Errorf("application_name = %q", cc.RuntimeParams["application_name"])
	}
	if pc.MaxConns != 10 {
		t.Errorf("MaxConns %d, want 10", pc.MaxConns)
	}
	if pc.MaxConnLifetime != 55*time.Minute || pc.MaxConnLifetimeJitter != 2*time.Minute {
		t.Errorf("lifetime %v jitter %v, want 55m and 2m", pc.MaxConnLifetime, pc.MaxConnLifetimeJitter)
	}
	if pc.MaxConnLifetime+pc.MaxConnLifetimeJitter >= time.Hour {
		t.Errorf("connections may outlive DSQL's 60 minutes")
	}
	if retrieved.Load() != 0 {
		t.Errorf("credentials retrieved %d times before any connection", retrieved.Load())
	}

	// BeforeConnect presigns a fresh token for every new connection, on the
	// copy pgxpool passes it, leaving the pool's config alone.
	if pc.BeforeConnect == nil {
		t.Fatal("no BeforeConnect")
	}
	for i := 1; i <= 2; i++ {
		c := cc.Copy()
		if err := pc.BeforeConnect(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if c.Password == "" {
			t.Fatalf("connection %d: no password", i)
		}
		p := parseToken(t, c.Password)
		if p.host != testEndpoint || p.query.Get("Action") != "DbConnectAdmin" || p.query.Get("X-Amz-Expires") != "900" {
			t.Errorf("connection %d: token %q", i, c.Password)
		}
		if got := retrieved.Load(); got != int64(i) {
			t.Errorf("after %d connections credentials retrieved %d times", i, got)
		}
	}
	if cc.Password != "" {
		t.Error("BeforeConnect changed the pool's own config")
	}
}

func TestPoolConfigOptions(t *testing.T) {
	pc, err := PoolConfig(context.Background(), Config{
		Endpoint:              "xyz.dsql.eu-west-2.on.aws", // region from the endpoint
		User:                  "hotrow_app",
		Database:              "hotrow",
		Credentials:           staticCreds(),
		MaxConns:              4,
		MaxConnLifetime:       30 * time.Minute,
		MaxConnLifetimeJitter: 5 * time.Minute,
		TokenExpiry:           time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if pc.MaxConns != 4 || pc.MaxConnLifetime != 30*time.Minute || pc.MaxConnLifetimeJitter != 5*time.Minute {
		t.Errorf("MaxConns %d lifetime %v jitter %v", pc.MaxConns, pc.MaxConnLifetime, pc.MaxConnLifetimeJitter)
	}
	if pc.ConnConfig.User != "hotrow_app" || pc.ConnConfig.Database != "hotrow" {
		t.Errorf("user %q database %q", pc.ConnConfig.User, pc.ConnConfig.Database)
	}
	c := pc.ConnConfig.Copy()
	if err := pc.BeforeConnect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	p := parseToken(t, c.Password)
	if p.query.Get("Action") != "DbConnect" || p.query.Get("X-Amz-Expires") != "60" || p.cred[2] != "eu-west-2" {
		t.Errorf("token %q", c.Password)
	}
}

func TestPoolConfigRejects(t *testing.T) {
	ok := Config{Endpoint: testEndpoint, Region: "us-east-1", Credentials: staticCreds()}
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"lifetime 60m", func(c *Config) { c.MaxConnLifetime = time.Hour }, "MaxConnLifetime"},
		{"lifetime 2h", func(c *Config) { c.MaxConnLifetime = 2 * time.Hour }, "MaxConnLifetime"},
		{"lifetime plus jitter 60m", func(c *Config) { c.MaxConnLifetime = 58 * time.Minute }, "MaxConnLifetimeJitter"},
		{"negative lifetime", func(c *Config) { c.MaxConnLifetime = -time.Minute }, "negative"},
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "Endpoint"},
		{"endpoint with scheme", func(c *Config) { c.Endpoint = "https://" + testEndpoint }, "bare host"},
		{"endpoint with port", func(c *Config) { c.Endpoint = testEndpoint + ":5432" }, "bare host"},
		{"no region anywhere", func(c *Config) { c.Endpoint, c.Region = "db.example.com", "" }, "Region"},
		{"negative MaxConns", func(c *Config) { c.MaxConns = -1 }, "MaxConns"},
		{"region disagrees with the endpoint", func(c *Config) { c.Region, c.RegionSource = "eu-west-1", "AWS_REGION" }, "AWS_REGION says eu-west-1"},
		{"address without port", func(c *Config) { c.Addr = "127.0.0.1" }, "host:port"},
		{"negative idle time", func(c *Config) { c.MaxConnIdleTime = -time.Second }, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			pc, err := PoolConfig(context.Background(), c)
			if err == nil || pc != nil {
				t.Fatalf("PoolConfig = %v, %v; want an error", pc, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q does not mention %q", err, tc.want)
			}
		})
	}
	// Just under the limit is fine.
	c := ok
	c.MaxConnLifetime, c.MaxConnLifetimeJitter = 58*time.Minute, time.Minute
	if _, err := PoolConfig(context.Background(), c); err != nil {
		t.Errorf("58m + 1m rejected: %v", err)
	}
}

func TestPoolConfigDefaultCredentialChain(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secretfromenv")
	t.Setenv("AWS_SESSION_TOKEN", "")
	pc, err := PoolConfig(context.Background(), Config{Endpoint: testEndpoint})
	if err != nil {
		t.Fatal(err)
	}
	c := pc.ConnConfig.Copy()
	if err := pc.BeforeConnect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	p := parseToken(t, c.Password)
	if p.cred[0] != "AKIDFROMENV" || p.cred[2] != "us-east-1" {
		t.Errorf("token credential %v, want the environment's key in us-east-1", p.cred)
	}
}

// TestPoolSignsEveryConnection drives a real pgxpool against a closed
// loopback port: each connection attempt must run BeforeConnect, so each
// presigns a token of its own.
func TestPoolSignsEveryConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	var retrieved atomic.Int64
	pc, err := PoolConfig(context.Background(), Config{
		Endpoint: testEndpoint, Region: "us-east-1", Credentials: countingCreds(staticCreds(), &retrieved),
	})
	if err != nil {
		t.Fatal(err)
	}
	pc.ConnConfig.Host, pc.ConnConfig.Port = "127.0.0.1", uint16(port)
	var passwords []string
	inner := pc.BeforeConnect
	pc.BeforeConnect = func(ctx context.Context, c *pgx.ConnConfig) error {
		err := inner(ctx, c)
		passwords = append(passwords, c.Password)
		return err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 2; i++ {
		if err := pool.Ping(ctx); err == nil {
			t.Fatal("ping of a closed port succeeded")
		}
	}
	if retrieved.Load() != 2 || len(passwords) != 2 || passwords[0] == "" || passwords[1] == "" {
		t.Errorf("2 connection attempts: credentials retrieved %d times, passwords %d", retrieved.Load(), len(passwords))
	}
}

// The region comes from the endpoint first; a Region that agrees (in any
// case) is fine, and one that disagrees names where it came from.
func TestRegionFromTheEndpoint(t *testing.T) {
	for _, region := range []string{"", "us-east-1", "US-EAST-1"} {
		c, err := Config{Endpoint: testEndpoint, Region: region, Credentials: staticCreds()}.withDefaults()
		if err != nil || c.Region != "us-east-1" {
			t.Errorf("Region %q: %q, %v; want us-east-1", region, c.Region, err)
		}
	}
	_, err := Config{Endpoint: testEndpoint, Region: "eu-west-1", RegionSource: "AWS_DEFAULT_REGION"}.withDefaults()
	if err == nil || !strings.Contains(err.Error(), "us-east-1") || !strings.Contains(err.Error(), "AWS_DEFAULT_REGION") {
		t.Errorf("a disagreeing region: %v", err)
	}
	c, err := Config{Endpoint: "db.example.com", Region: "eu-west-1"}.withDefaults()
	if err != nil || c.Region != "eu-west-1" {
		t.Errorf("an endpoint without a region: %q, %v", c.Region, err)
	}
}

// Addr changes where the pool dials, not the name TLS verifies or the
// token is signed for; application_name and the idle time are set.
func TestPoolConfigAddrAndSession(t *testing.T) {
	t.Setenv("PGAPPNAME", "")
	pc, err := PoolConfig(context.Background(), Config{Endpoint: testEndpoint, Addr: "127.0.0.1:15432",
		Credentials: staticCreds(), ApplicationName: "hotrow/v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	cc := pc.ConnConfig
	if cc.Host != "127.0.0.1" || cc.Port != 15432 || cc.TLSConfig.ServerName != testEndpoint {
		t.Errorf("dials %s:%d verifying %q", cc.Host, cc.Port, cc.TLSConfig.ServerName)
	}
	if cc.RuntimeParams["application_name"] != "hotrow/v1.2.3" {
		t.Errorf("application_name %q", cc.RuntimeParams["application_name"])
	}
	if pc.MaxConnIdleTime != DefaultMaxConnIdleTime {
		t.Errorf("MaxConnIdleTime %v", pc.MaxConnIdleTime)
	}
	c := cc.Copy()
	if err := pc.BeforeConnect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if p := parseToken(t, c.Password); p.host != testEndpoint {
		t.Errorf("token for host %q, want the endpoint", p.host)
	}
	pc, _ = PoolConfig(context.Background(), Config{Endpoint: testEndpoint, Credentials: staticCreds()})
	if got := pc.ConnConfig.RuntimeParams["application_name"]; got != DefaultApplicationName {
		t.Errorf("default application_name %q", got)
	}
}
