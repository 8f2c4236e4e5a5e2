package dsql

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// keptRuntimeParams are the startup parameters PoolConfig lets through (for
// example from PGAPPNAME); anything else, such as options from PGOPTIONS, is
// dropped because DSQL rejects most session settings.
var keptRuntimeParams = map[string]bool{"application_name": true}

// PoolConfig builds a pgxpool configuration for the DSQL cluster in cfg:
// host cfg.Endpoint, port 5432 (or cfg.Addr), TLS with full verification
// against cfg.Endpoint (sslmode=verify-full, at least TLS 1.2; the system's
// roots, PGSSLROOTCERT's or cfg.RootCAs), a freshly presigned [Token] as the
// password of every new connection (in BeforeConnect), the configured pool
// size, idle time and connection lifetime with jitter, application_name,
// and no other session parameters and no isolation level. When cfg.Credentials is nil it loads the
// default AWS credential chain now (config.LoadDefaultConfig); credentials
// are retrieved, and tokens signed, only when connections are made.
//
// Pass the result to pgxpool.NewWithConfig.
func PoolConfig(ctx context.Context, cfg Config) (*pgxpool.Config, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	creds := cfg.Credentials
	if creds == nil {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("dsql: load AWS config: %w", err)
		}
		if awsCfg.Credentials == nil {
			return nil, fmt.Errorf("dsql: no AWS credentials provider in the default chain")
		}
		creds = awsCfg.Credentials
	}

	host, port := cfg.Endpoint, strconv.Itoa(Port)
	if cfg.Addr != "" {
		host, port, _ = net.SplitHostPort(cfg.Addr)
	}
	connString := "host=" + quote(host) +
		" port=" + quote(port) +
		" user=" + quote(cfg.User) +
		" dbname=" + quote(cfg.Database) +
		" sslmode=verify-full"
	pc, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("dsql: pool config: %w", err)
	}

	cc := pc.ConnConfig
	cc.Fallbacks = nil
	var tlsCfg *tls.Config
	if cc.TLSConfig != nil {
		tlsCfg = cc.TLSConfig.Clone()
	} else {
		tlsCfg = &tls.Config{}
	}
	tlsCfg.ServerName = cfg.Endpoint
	if cfg.RootCAs != nil {
		tlsCfg.RootCAs = cfg.RootCAs
	}
	tlsCfg.InsecureSkipVerify = false
	tlsCfg.VerifyPeerCertificate = nil
	if tlsCfg.MinVersion < tls.VersionTLS12 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}
	cc.TLSConfig = tlsCfg
	for k := range cc.RuntimeParams {
		if !keptRuntimeParams[k] {
			delete(cc.RuntimeParams, k)
		}
	}
	cc.Password = "" // set per connection
	switch {
	case cfg.ApplicationName != "":
		cc.RuntimeParams["application_name"] = cfg.ApplicationName
	case cc.RuntimeParams["application_name"] == "":
		cc.RuntimeParams["application_name"] = DefaultApplicationName
	}

	pc.MaxConns = cfg.MaxConns
	pc.MaxConnLifetime = cfg.MaxConnLifetime
	pc.MaxConnLifetimeJitter = cfg.MaxConnLifetimeJitter
	pc.MaxConnIdleTime = cfg.MaxConnIdleTime

	endpoint, region, user, expiry := cfg.Endpoint, cfg.Region, cfg.User, cfg.TokenExpiry
	pc.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		tok, err := Token(ctx, endpoint, region, user, creds, expiry)
		if err != nil {
			return err
		}
		cc.Password = tok
		return nil
	}
	return pc, nil
}

// quote quotes a keyword/value connection string value.
func quote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(append(b, '\''))
}
