package dynamo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"hotrow/rooms/cursors/dynamo"
)

// ttlAPI answers the TTL calls as DynamoDB would for a table whose TTL is
// in the given state.
type ttlAPI struct {
	dynamo.TableAPI
	status    types.TimeToLiveStatus
	attr      string
	updateErr error
	updates   int
}

func (a *ttlAPI) DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error) {
	d := &types.TimeToLiveDescription{TimeToLiveStatus: a.status}
	if a.attr != "" {
		d.AttributeName = aws.String(a.attr)
	}
	return &dynamodb.DescribeTimeToLiveOutput{TimeToLiveDescription: d}, nil
}

func (a *ttlAPI) UpdateTimeToLive(_ context.Context, in *dynamodb.UpdateTimeToLiveInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	a.updates++
	if a.updateErr != nil {
		return nil, a.updateErr
	}
	if aws.ToString(in.TimeToLiveSpecification.AttributeName) != dynamo.AttrExpiresAt || !aws.ToBool(in.TimeToLiveSpecification.Enabled) {
		return nil, errors.New("wrong specification")
	}
	return &dynamodb.UpdateTimeToLiveOutput{}, nil
}

func TestEnsureTTL(t *testing.T) {
	already := &smithy.GenericAPIError{Code: "ValidationException", Message: "TimeToLive is already enabled"}
	cases := []struct {
		name    string
		api     *ttlAPI
		want    dynamo.TTLResult
		updates int
		wantErr bool
	}{
		{"off: turned on", &ttlAPI{status: types.TimeToLiveStatusDisabled}, dynamo.TTLTurnedOn, 1, false},
		{"on: left alone", &ttlAPI{status: types.TimeToLiveStatusEnabled, attr: dynamo.AttrExpiresAt}, dynamo.TTLAlreadyOn, 0, false},
		{"being turned on", &ttlAPI{status: types.TimeToLiveStatusEnabling, attr: dynamo.AttrExpiresAt}, dynamo.TTLAlreadyOn, 0, false},
		{"raced: already on is success", &ttlAPI{status: types.TimeToLiveStatusDisabled, updateErr: already}, dynamo.TTLAlreadyOn, 1, false},
		{"on another attribute", &ttlAPI{status: types.TimeToLiveStatusEnabled, attr: "ttl"}, 0, 0, true},
		{"being turned off", &ttlAPI{status: types.TimeToLiveStatusDisabling, attr: dynamo.AttrExpiresAt}, 0, 0, true},
		{"update fails", &ttlAPI{status: types.TimeToLiveStatusDisabled, updateErr: errors.New("throttled")}, 0, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := dynamo.EnsureTTL(context.Background(), c.api, "t")
			if (err != nil) != c.wantErr || got != c.want || c.api.updates != c.updates {
				t.Fatalf("EnsureTTL = %v, %v after %d updates; want %v, error %v, %d updates", got, err, c.api.updates, c.want, c.wantErr, c.updates)
			}
		})
	}
}

// dynalite has no TTL calls: EnsureTTL says so with ErrTTLUnsupported.
func TestEnsureTTLOnDynalite(t *testing.T) {
	_, client, _ := setup(t)
	_, err := dynamo.EnsureTTL(t.Context(), client, table)
	if !errors.Is(err, dynamo.ErrTTLUnsupported) {
		t.Fatalf("EnsureTTL on dynalite: %v, want ErrTTLUnsupported", err)
	}
}
