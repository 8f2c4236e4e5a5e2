package dsqldouble

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"hotrow/internal/testpg"
)

// The static credentials the harness's doubles check token signatures
// with. They sign nothing anywhere else.
const (
	TestAccessKeyID     = "AKIDDSQLDOUBLETEST"
	TestSecretAccessKey = "dsql-double-test-secret-not-a-real-key"
)

// TestCredentials are those credentials.
func TestCredentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: TestAccessKeyID, SecretAccessKey: TestSecretAccessKey, Source: "dsqldouble"}
}

// TestCredentialsProvider provides them.
func TestCredentialsProvider() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(TestAccessKeyID, TestSecretAccessKey, "")
}

// New starts a double for a test, as testpg starts PostgreSQL: in front of
// a fresh database of the shared test server (unless o.Upstream names
// one), checking token signatures against TestCredentials (unless
// o.Credentials is set), and closed when the test ends. Without PostgreSQL
// the test is skipped, or fails under CI=true (testpg.DSN decides).
func New(t testing.TB, o Options) *Double {
	t.Helper()
	if o.Upstream == "" {
		o.Upstream = testpg.DSN(t)
	}
	if o.Credentials == nil {
		o.Credentials = []aws.Credentials{TestCredentials()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// Env is the environment that points a hotrow process at the double:
// DSQL_ENDPOINT, DSQL_DIAL_ADDR, PGSSLROOTCERT (the double's CA, written to
// a temporary file) and the test credentials, with the AWS shared files
// and instance metadata out of the way.
func (d *Double) Env(t testing.TB) []string {
	t.Helper()
	dir := t.TempDir()
	ca := filepath.Join(dir, "dsql-double-ca.pem")
	if err := os.WriteFile(ca, d.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{
		"DSQL_ENDPOINT=" + d.Endpoint(),
		"DSQL_DIAL_ADDR=" + d.Addr(),
		"PGSSLROOTCERT=" + ca,
		"AWS_ACCESS_KEY_ID=" + TestAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + TestSecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
		"AWS_PROFILE=",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}
