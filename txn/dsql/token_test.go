package dsql

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

const testEndpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"

func staticCreds() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")
}

// countingCreds wraps p and counts Retrieve calls.
func countingCreds(p aws.CredentialsProvider, n *atomic.Int64) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		n.Add(1)
		return p.Retrieve(ctx)
	})
}

// parsedToken is what a DSQL token says once parsed as a URL.
type parsedToken struct {
	host  string
	query url.Values
	cred  []string // X-Amz-Credential: key/date/region/service/aws4_request
}

func parseToken(t *testing.T, tok string) parsedToken {
	t.Helper()
	if strings.Contains(tok, "://") {
		t.Fatalf("token %q carries a scheme", tok)
	}
	u, err := url.Parse("https://" + tok)
	if err != nil {
		t.Fatalf("token does not parse as a URL: %v", err)
	}
	q := u.Query()
	return parsedToken{host: u.Host, query: q, cred: strings.Split(q.Get("X-Amz-Credential"), "/")}
}

func TestToken(t *testing.T) {
	cases := []struct {
		name        string
		user        string
		expiry      time.Duration
		wantAction  string
		wantExpires string
	}{
		{"admin, default expiry", "admin", 0, "DbConnectAdmin", "900"},
		{"admin, 15m", "admin", 15 * time.Minute, "DbConnectAdmin", "900"},
		{"other user, 5m", "hotrow_app", 5 * time.Minute, "DbConnect", "300"},
		{"Admin is not admin", "Admin", time.Hour, "DbConnect", "3600"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Token(context.Background(), testEndpoint, "us-east-1", tc.user, staticCreds(), tc.expiry)
			if err != nil {
				t.Fatal(err)
			}
			p := parseToken(t, tok)
			if p.host != testEndpoint {
				t.Errorf("host %q, want %q", p.host, testEndpoint)
			}
			if got := p.query.Get("Action"); got != tc.wantAction {
				t.Errorf("Action=%q, want %q", got, tc.wantAction)
			}
			if got := p.query.Get("X-Amz-Expires"); got != tc.wantExpires {
				t.Errorf("X-Amz-Expires=%q, want %q", got, tc.wantExpires)
			}
			if got := p.query.Get("X-Amz-Algorithm"); got != "AWS4-HMAC-SHA256" {
				t.Errorf("X-Amz-Algorithm=%q", got)
			}
			if len(p.cred) != 5 || p.cred[0] != "AKIDEXAMPLE" || p.cred[2] != "us-east-1" || p.cred[3] != "dsql" || p.cred[4] != "aws4_request" {
				t.Errorf("X-Amz-Credential=%q, want AKIDEXAMPLE/<date>/us-east-1/dsql/aws4_request", p.query.Get("X-Amz-Credential"))
			}
			sig := p.query.Get("X-Amz-Signature")
			if b, err := hex.DecodeString(sig); err != nil || len(b) != 32 {
				t.Errorf("X-Amz-Signature=%q is not a SHA-256 signature", sig)
			}
		})
	}
}

func TestTokenCallsDiffer(t *testing.T) {
	ctx := context.Background()
	// Credentials rotate between calls, as role credentials do: each token is
	// signed afresh with the credentials of the moment, never cached.
	var n atomic.Int64
	rotating := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		i := n.Add(1)
		return aws.Credentials{AccessKeyID: fmt.Sprintf("AKID%d", i), SecretAccessKey: fmt.Sprintf("secret%d", i), SessionToken: "session"}, nil
	})
	a, err := Token(ctx, testEndpoint, "us-east-1", "admin", rotating, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Token(ctx, testEndpoint, "us-east-1", "admin", rotating, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two tokens signed with different credentials are equal")
	}
	if n.Load() != 2 {
		t.Errorf("credentials retrieved %d times for 2 tokens", n.Load())
	}
	if got := parseToken(t, b).query.Get("X-Amz-Security-Token"); got != "session" {
		t.Errorf("X-Amz-Security-Token=%q, want the session token", got)
	}
	c, err := Token(ctx, testEndpoint, "us-east-1", "hotrow_app", staticCreds(), 0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Token(ctx, testEndpoint, "us-east-1", "admin", staticCreds(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c == d {
		t.Error("admin and user tokens are equal")
	}
}

func TestTokenShortLivedCredentials(t *testing.T) {
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s", CanExpire: true, Expires: time.Now().Add(100 * time.Second)}, nil
	})
	tok, err := Token(context.Background(), testEndpoint, "us-east-1", "admin", creds, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	exp := parseToken(t, tok).query.Get("X-Amz-Expires")
	if exp != "99" && exp != "100" {
		t.Errorf("X-Amz-Expires=%q, want the credentials' remaining 100s", exp)
	}
}

func TestTokenErrors(t *testing.T) {
	boom := errors.New("no credentials")
	failing := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return aws.Credentials{}, boom })
	cases := []struct {
		name                   string
		endpoint, region, user string
		creds                  aws.CredentialsProvider
		expiry                 time.Duration
		want                   error
	}{
		{"no endpoint", "", "us-east-1", "admin", staticCreds(), 0, nil},
		{"no region", testEndpoint, "", "admin", staticCreds(), 0, nil},
		{"no user", testEndpoint, "us-east-1", "", staticCreds(), 0, nil},
		{"no credentials", testEndpoint, "us-east-1", "admin", nil, 0, nil},
		{"negative expiry", testEndpoint, "us-east-1", "admin", staticCreds(), -time.Second, nil},
		{"credentials fail", testEndpoint, "us-east-1", "admin", failing, 0, boom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Token(context.Background(), tc.endpoint, tc.region, tc.user, tc.creds, tc.expiry)
			if err == nil || tok != "" {
				t.Fatalf("Token = %q, %v; want an error", tok, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err %v does not wrap %v", err, tc.want)
			}
		})
	}
}
