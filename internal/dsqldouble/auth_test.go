package dsqldouble_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/jackc/pgx/v5"

	"hotrow/internal/dsqldouble"
	"hotrow/txn/dsql"
)

// A cluster takes an IAM token as the password: a presigned DbConnect
// (DbConnectAdmin for admin) URL for its endpoint, signed for its region,
// not expired (user guide, "Generating an authentication token";
// troubleshooting: `IAM authentication failed for user "..."`).
func TestAuthentication(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	token := func(endpoint, region, user string) string {
		tok, err := dsql.Token(context.Background(), endpoint, region, user, dsqldouble.TestCredentialsProvider(), 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name   string
		change func(*pgx.ConnConfig)
		code   string
		detail string
	}{
		{"admin token", func(*pgx.ConnConfig) {}, "", ""},
		{"role token", func(c *pgx.ConnConfig) { c.User = "hotrow"; c.Password = token(d.Endpoint(), d.Region(), "hotrow") }, "", ""},
		{"role token for admin", func(c *pgx.ConnConfig) { c.Password = token(d.Endpoint(), d.Region(), "hotrow") }, "28000", "DbConnectAdmin"},
		{"wrong region", func(c *pgx.ConnConfig) { c.Password = token(d.Endpoint(), "eu-west-1", "admin") }, "28000", "region"},
		{"wrong endpoint", func(c *pgx.ConnConfig) { c.Password = token("other.dsql.us-east-1.on.aws", d.Region(), "admin") }, "28000", "host"},
		{"not a token", func(c *pgx.ConnConfig) { c.Password = "hunter2" }, "28000", ""},
		{"wrong secret", func(c *pgx.ConnConfig) {
			tok, _ := dsql.Token(context.Background(), d.Endpoint(), d.Region(), "admin",
				credentials.NewStaticCredentialsProvider(dsqldouble.TestAccessKeyID, "not-the-secret", ""), 0)
			c.Password = tok
		}, "28000", "signature"},
		{"other database", func(c *pgx.ConnConfig) { c.Database = "hotrow" }, "3D000", ""},
		{"no TLS", func(c *pgx.ConnConfig) { c.TLSConfig = nil }, "28000", ""},
		{"no SNI", func(c *pgx.ConnConfig) {
			c.TLSConfig = &tls.Config{InsecureSkipVerify: true} // no ServerName: no SNI
		}, "28000", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := connConfig(t, d, "admin")
			tc.change(cfg)
			c, err := pgx.ConnectConfig(ctx(t), cfg)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				c.Close(ctx(t))
				return
			}
			if err == nil {
				c.Close(ctx(t))
				t.Fatal("accepted")
			}
			e := pgErr(t, err)
			if e.Code != tc.code || !strings.Contains(e.Detail, tc.detail) {
				t.Fatalf("refused with %s %q (%s), want %s mentioning %q", e.Code, e.Message, e.Detail, tc.code, tc.detail)
			}
		})
	}
	t.Run("message", func(t *testing.T) {
		cfg := connConfig(t, d, "admin")
		cfg.Password = "hunter2"
		_, err := pgx.ConnectConfig(ctx(t), cfg)
		if e := pgErr(t, err); e.Message != `IAM authentication failed for user "admin"` {
			t.Fatalf("message %q", e.Message)
		}
	})
}

// A token is checked when the connection is made: a default 15-minute
// token is refused 20 minutes later.
func TestExpiredToken(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{Now: func() time.Time { return time.Now().Add(20 * time.Minute) }})
	_, err := pgx.ConnectConfig(ctx(t), connConfig(t, d, "admin"))
	if e := pgErr(t, err); e.Code != "28000" || !strings.Contains(e.Detail, "expired") {
		t.Fatalf("expired token: %s %q %q", e.Code, e.Message, e.Detail)
	}
}
