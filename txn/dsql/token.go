package dsql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dsql/auth"
)

// AdminUser is DSQL's built-in administrative role; its tokens authorise the
// dsql:DbConnectAdmin action, every other role's dsql:DbConnect.
const AdminUser = "admin"

// DefaultTokenExpiry is how long a connect token is valid by default. A token
// is only checked when a connection is opened, so this bounds the time between
// presigning and connecting, not the connection's life.
const DefaultTokenExpiry = 15 * time.Minute

// Token presigns an Aurora DSQL connect token for user on the cluster at
// endpoint (a host name such as abc.dsql.us-east-1.on.aws) in region. It makes
// no network call, apart from what creds needs to retrieve credentials. The
// token is valid for expiry (DefaultTokenExpiry when 0), or less when the
// credentials expire sooner. User "admin" gets an admin token
// (auth.GenerateDBConnectAdminAuthToken); any other user a regular one
// (auth.GenerateDbConnectAuthToken).
func Token(ctx context.Context, endpoint, region, user string, creds aws.CredentialsProvider, expiry time.Duration) (string, error) {
	if endpoint == "" {
		return "", errors.New("dsql: token: endpoint is required")
	}
	if region == "" {
		return "", errors.New("dsql: token: region is required")
	}
	if user == "" {
		return "", errors.New("dsql: token: user is required")
	}
	if creds == nil {
		return "", errors.New("dsql: token: credentials provider is required")
	}
	if expiry < 0 {
		return "", fmt.Errorf("dsql: token: negative expiry %v", expiry)
	}
	if expiry == 0 {
		expiry = DefaultTokenExpiry
	}
	opt := func(o *auth.TokenOptions) { o.ExpiresIn = expiry }
	var (
		tok string
		err error
	)
	if user == AdminUser {
		tok, err = auth.GenerateDBConnectAdminAuthToken(ctx, endpoint, region, creds, opt)
	} else {
		tok, err = auth.GenerateDbConnectAuthToken(ctx, endpoint, region, creds, opt)
	}
	if err != nil {
		return "", fmt.Errorf("dsql: token for %s at %s: %w", user, endpoint, err)
	}
	return tok, nil
}
