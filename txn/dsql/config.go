package dsql

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Defaults of [Config].
const (
	DefaultUser                  = AdminUser
	DefaultDatabase              = "postgres"
	DefaultMaxConns              = 10
	DefaultMaxConnLifetime       = 55 * time.Minute
	DefaultMaxConnLifetimeJitter = 2 * time.Minute
	// DefaultMaxConnIdleTime closes a connection idle this long, so a quiet
	// hub does not hold connections (and DSQL's connection quota) it does
	// not use.
	DefaultMaxConnIdleTime = 5 * time.Minute
	// DefaultApplicationName is sent as application_name when Config has none.
	DefaultApplicationName = "hotrow"
	// MaxConnectionAge is DSQL's limit on a connection's life; the pool must
	// retire connections before it, jitter included.
	MaxConnectionAge = 60 * time.Minute
	// Port is the port DSQL listens on.
	Port = 5432
)

// Config describes one Aurora DSQL cluster endpoint. Zero fields take their
// defaults.
type Config struct {
	Endpoint string // cluster endpoint host, e.g. abc.dsql.us-east-1.on.aws
	// Region is the cluster's region. An endpoint of the form
	// <id>.dsql.<region>.on.aws names it, and then Region must be empty or
	// the same: a token signed for another region is refused at connect
	// time, so a disagreement is an error here, naming RegionSource.
	Region       string
	RegionSource string // where Region came from, for that error (e.g. "AWS_REGION")
	// Addr, when set, is the host:port to dial instead of Endpoint:5432 (a
	// proxy, or a test double); TLS still verifies Endpoint's name and
	// tokens are still signed for it.
	Addr string
	// RootCAs, when set, are the certificate authorities TLS trusts instead
	// of the system's (or PGSSLROOTCERT's).
	RootCAs         *x509.CertPool
	User            string                  // default "admin"
	Database        string                  // default "postgres"
	ApplicationName string                  // default PGAPPNAME, else "hotrow"
	Credentials     aws.CredentialsProvider // nil → the default chain via config.LoadDefaultConfig
	MaxConns        int32                   // default 10
	// MaxConnLifetime retires connections before DSQL's 60-minute limit;
	// default 55m. It must be under 60m, and so must MaxConnLifetime plus
	// MaxConnLifetimeJitter.
	MaxConnLifetime       time.Duration
	MaxConnLifetimeJitter time.Duration // default 2m
	MaxConnIdleTime       time.Duration // default 5m
	TokenExpiry           time.Duration // default 15m
}

// withDefaults fills the zero fields and checks the result.
func (c Config) withDefaults() (Config, error) {
	c.Endpoint = strings.TrimSpace(c.Endpoint)
	if c.Endpoint == "" {
		return c, errors.New("dsql: Endpoint is required")
	}
	if strings.ContainsAny(c.Endpoint, "/:@ \t'\\") {
		return c, fmt.Errorf("dsql: Endpoint %q must be a bare host name (no scheme, port or path)", c.Endpoint)
	}
	c.Region = strings.TrimSpace(c.Region)
	if r := regionOf(c.Endpoint); r != "" {
		if c.Region != "" && !strings.EqualFold(c.Region, r) {
			src := c.RegionSource
			if src == "" {
				src = "Region"
			}
			return c, fmt.Errorf("dsql: endpoint %s is in region %s but %s says %s: tokens would be signed for the wrong region; unset %s or make it %s",
				c.Endpoint, r, src, c.Region, src, r)
		}
		c.Region = r
	}
	if c.Region == "" {
		return c, fmt.Errorf("dsql: Region is required (it cannot be read from endpoint %q)", c.Endpoint)
	}
	if c.Addr != "" {
		if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
			return c, fmt.Errorf("dsql: Addr %q must be host:port", c.Addr)
		}
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.MaxConns < 0 {
		return c, fmt.Errorf("dsql: MaxConns %d is negative", c.MaxConns)
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnLifetime < 0 || c.MaxConnLifetimeJitter < 0 || c.MaxConnIdleTime < 0 || c.TokenExpiry < 0 {
		return c, errors.New("dsql: durations must not be negative")
	}
	if c.MaxConnLifetime == 0 {
		c.MaxConnLifetime = DefaultMaxConnLifetime
	}
	if c.MaxConnLifetimeJitter == 0 {
		c.MaxConnLifetimeJitter = DefaultMaxConnLifetimeJitter
	}
	if c.MaxConnLifetime >= MaxConnectionAge {
		return c, fmt.Errorf("dsql: MaxConnLifetime %v must be under DSQL's %v connection limit", c.MaxConnLifetime, MaxConnectionAge)
	}
	if c.MaxConnLifetime+c.MaxConnLifetimeJitter >= MaxConnectionAge {
		return c, fmt.Errorf("dsql: MaxConnLifetime %v plus MaxConnLifetimeJitter %v must be under DSQL's %v connection limit",
			c.MaxConnLifetime, c.MaxConnLifetimeJitter, MaxConnectionAge)
	}
	if c.MaxConnIdleTime == 0 {
		c.MaxConnIdleTime = DefaultMaxConnIdleTime
	}
	if c.TokenExpiry == 0 {
		c.TokenExpiry = DefaultTokenExpiry
	}
	return c, nil
}

// RegionOf reads the region from a DSQL endpoint <id>.dsql.<region>.on.aws
// (or .api.aws), or returns "".
func RegionOf(endpoint string) string { return regionOf(endpoint) }

func regionOf(endpoint string) string {
	parts := strings.Split(strings.ToLower(endpoint), ".")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "dsql" && i > 0 && parts[i+1] != "" {
			return parts[i+1]
		}
	}
	return ""
}
