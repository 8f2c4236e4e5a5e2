package dsqldouble

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// emptyPayloadHash is the SHA-256 of nothing, which a presigned GET signs.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// maxTokenLife is the longest a DSQL token may be valid (documented,
// "Generating an authentication token": 604,800 seconds, one week).
const maxTokenLife = 7 * 24 * time.Hour

// checkToken decides whether password is an IAM token that lets user
// connect to the cluster at endpoint in region at time now. A DSQL token is
// a SigV4-presigned URL without its scheme: host = the endpoint, Action =
// DbConnectAdmin for the admin role and DbConnect for any other, signed for
// service "dsql" in the cluster's region, not expired. When creds has the
// access key the token names, the signature itself is checked too.
func checkToken(password, user, endpoint, region string, creds map[string]aws.Credentials, now time.Time) error {
	if password == "" {
		return fmt.Errorf("no password: DSQL needs an IAM token")
	}
	if strings.Contains(password, "://") {
		return fmt.Errorf("the token carries a URL scheme; a DSQL token is a presigned URL without one")
	}
	u, err := url.Parse("https://" + password)
	if err != nil {
		return fmt.Errorf("the password is not a presigned URL: %v", err)
	}
	if !strings.EqualFold(u.Host, endpoint) {
		return fmt.Errorf("the token is for host %q, not this cluster's endpoint %q", u.Host, endpoint)
	}
	q := u.Query()
	want := "DbConnect"
	if user == "admin" {
		want = "DbConnectAdmin"
	}
	if got := q.Get("Action"); got != want {
		return fmt.Errorf("the token's Action is %q; role %q needs %q", got, user, want)
	}
	if got := q.Get("X-Amz-Algorithm"); got != "AWS4-HMAC-SHA256" {
		return fmt.Errorf("X-Amz-Algorithm is %q, want AWS4-HMAC-SHA256", got)
	}
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(cred) != 5 || cred[3] != "dsql" || cred[4] != "aws4_request" {
		return fmt.Errorf("X-Amz-Credential %q is not <key>/<date>/<region>/dsql/aws4_request", q.Get("X-Amz-Credential"))
	}
	if cred[2] != region {
		return fmt.Errorf("the token is signed for region %q, the cluster is in %q", cred[2], region)
	}
	signedAt, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %v", q.Get("X-Amz-Date"), err)
	}
	if cred[1] != signedAt.Format("20060102") {
		return fmt.Errorf("the credential date %q is not the signing date %s", cred[1], signedAt.Format("20060102"))
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxTokenLife {
		return fmt.Errorf("X-Amz-Expires %q is not 1 to %d seconds", q.Get("X-Amz-Expires"), int(maxTokenLife.Seconds()))
	}
	if signedAt.After(now.Add(5 * time.Minute)) {
		return fmt.Errorf("the token is signed in the future (%s)", signedAt)
	}
	if exp := signedAt.Add(time.Duration(secs) * time.Second); !now.Before(exp) {
		return fmt.Errorf("the token expired at %s", exp.Format(time.RFC3339))
	}
	if q.Get("X-Amz-SignedHeaders") != "host" {
		return fmt.Errorf("X-Amz-SignedHeaders is %q, want host", q.Get("X-Amz-SignedHeaders"))
	}
	sig := q.Get("X-Amz-Signature")
	if b, err := hex.DecodeString(sig); err != nil || len(b) != 32 {
		return fmt.Errorf("X-Amz-Signature %q is not a SHA-256 signature", sig)
	}
	if c, ok := creds[cred[0]]; ok {
		c.SessionToken = q.Get("X-Amz-Security-Token")
		want, err := presignature(u.Host, q.Get("Action"), secs, region, c, signedAt)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
			return fmt.Errorf("the token's signature does not match access key %s", cred[0])
		}
	} else if len(creds) > 0 {
		return fmt.Errorf("unknown access key %s", cred[0])
	}
	return nil
}

// presignature signs the token's request again with c and returns the
// signature, as the cluster would to check it.
func presignature(host, action string, secs int, region string, c aws.Credentials, at time.Time) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "https://"+host, nil)
	if err != nil {
		return "", err
	}
	q := url.Values{"Action": {action}, "X-Amz-Expires": {strconv.Itoa(secs)}}
	req.URL.RawQuery = q.Encode()
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), c, req, emptyPayloadHash, "dsql", region, at)
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	su, err := url.Parse(signed)
	if err != nil {
		return "", err
	}
	return su.Query().Get("X-Amz-Signature"), nil
}
