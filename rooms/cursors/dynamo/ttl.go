package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// TTLResult is what EnsureTTL found or did.
type TTLResult int

const (
	// TTLTurnedOn: TTL was off; EnsureTTL turned it on (DynamoDB may take
	// up to an hour to finish).
	TTLTurnedOn TTLResult = iota + 1
	// TTLAlreadyOn: TTL was on (or being turned on) on expires_at.
	TTLAlreadyOn
)

// ErrTTLUnsupported says the endpoint does not implement the TTL calls, as
// dynalite (the local DynamoDB stand-in) does not: expired items then stay
// until deleted, and hotrow's reads filter them out.
var ErrTTLUnsupported = errors.New("this DynamoDB endpoint does not implement Time to Live " +
	"(DescribeTimeToLive/UpdateTimeToLive); dynalite, the local stand-in, lacks them: expired cursor items " +
	"are not deleted, only filtered out on read. On AWS DynamoDB this step turns TTL on")

// EnsureTTL turns DynamoDB's Time to Live on for the table's expires_at
// attribute: DescribeTimeToLive, then UpdateTimeToLive when it is off. TTL
// already on (or being turned on) is success. TTL on another attribute is an
// error: a table has one TTL attribute, and hotrow's is expires_at.
func EnsureTTL(ctx context.Context, api TableAPI, table string) (TTLResult, error) {
	out, err := api.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		if unsupported(err) {
			return 0, fmt.Errorf("describe TTL of %q: %w (%v)", table, ErrTTLUnsupported, err)
		}
		return 0, fmt.Errorf("describe TTL of %q: %w", table, err)
	}
	if d := out.TimeToLiveDescription; d != nil {
		attr := aws.ToString(d.AttributeName)
		switch d.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if attr != AttrExpiresAt {
				return 0, fmt.Errorf("table %q has TTL on %q, not %q: turn it off there first (a table has one TTL attribute)", table, attr, AttrExpiresAt)
			}
			return TTLAlreadyOn, nil
		case types.TimeToLiveStatusDisabling:
			return 0, fmt.Errorf("table %q is turning TTL off; run this again once it is off (DynamoDB allows one TTL change an hour)", table)
		}
	}
	_, err = api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrExpiresAt), Enabled: aws.Bool(true),
		},
	})
	switch {
	case err == nil:
		return TTLTurnedOn, nil
	case alreadyEnabled(err):
		return TTLAlreadyOn, nil
	case unsupported(err):
		return 0, fmt.Errorf("turn TTL on for %q: %w (%v)", table, ErrTTLUnsupported, err)
	}
	return 0, fmt.Errorf("turn TTL on for %q.%s: %w", table, AttrExpiresAt, err)
}

// unsupported reports an endpoint that does not know the operation.
func unsupported(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		return code == "UnknownOperationException" || code == "UnrecognizedClientException" && strings.Contains(ae.ErrorMessage(), "operation")
	}
	return false
}

// alreadyEnabled reports DynamoDB's answer to turning on a TTL that is on
// ("TimeToLive is already enabled").
func alreadyEnabled(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" &&
		strings.Contains(strings.ToLower(ae.ErrorMessage()), "already enabled")
}
