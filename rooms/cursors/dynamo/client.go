package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// ClientConfig says how to reach DynamoDB. Zero fields use the SDK's own
// configuration (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, the default
// credential chain, ...).
type ClientConfig struct {
	// Endpoint overrides the endpoint (DYNAMODB_ENDPOINT), e.g.
	// http://127.0.0.1:4567 for dynalite.
	Endpoint string
	// Region overrides the region; with an Endpoint and no region anywhere,
	// us-east-1 is used (local servers ignore it).
	Region string
	// AccessKeyID and SecretAccessKey, when both set, are static credentials
	// instead of the default chain (dynalite accepts any).
	AccessKeyID, SecretAccessKey string
}

// NewClient builds a DynamoDB client.
func NewClient(ctx context.Context, c ClientConfig) (*dynamodb.Client, error) {
	var opts []func(*config.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.AccessKeyID != "" && c.SecretAccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" && c.Endpoint != "" {
		cfg.Region = "us-east-1"
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	}), nil
}
