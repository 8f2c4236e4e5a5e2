// Package dynamo is the DynamoDB cursor store (cursors.Store) through
// aws-sdk-go-v2.
//
// Table: partition key "room" (S), sort key "member" (S, "user#connection"),
// on-demand billing. Each item also holds user, conn, name, pos (the JSON
// object as a string; absent before the first move), updated (epoch
// milliseconds) and expires_at (epoch seconds), the TTL attribute.
//
// Create the table with CreateTable (`hotrow cursors create-table`). Turning
// on TTL on expires_at is a deploy step (EnableTTL, or
// `aws dynamodb update-time-to-live --table-name T --time-to-live-specification
// Enabled=true,AttributeName=expires_at`): DynamoDB deletes expired items
// late (typically within days), so reads filter on expires_at anyway, and
// dynalite has no UpdateTimeToLive at all.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"hotrow/rooms/cursors"
)

// Attribute names.
const (
	AttrRoom      = "room"
	AttrMember    = "member"
	AttrUser      = "user"
	AttrConn      = "conn"
	AttrName      = "name"
	AttrPos       = "pos"
	AttrUpdated   = "updated"
	AttrExpiresAt = "expires_at"
)

// API is the part of *dynamodb.Client the store uses.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Store is a cursors.Store on one DynamoDB table.
type Store struct {
	api   API
	table string
}

var _ cursors.Store = (*Store)(nil)

// New returns the store on table through api (a *dynamodb.Client).
func New(api API, table string) *Store { return &Store{api: api, table: table} }

// Table is the table's name.
func (s *Store) Table() string { return s.table }

// Put implements cursors.Store.
func (s *Store) Put(ctx context.Context, it cursors.Item) error {
	item := map[string]types.AttributeValue{
		AttrRoom:      &types.AttributeValueMemberS{Value: it.Room},
		AttrMember:    &types.AttributeValueMemberS{Value: it.Member()},
		AttrUser:      &types.AttributeValueMemberS{Value: it.User},
		AttrConn:      &types.AttributeValueMemberS{Value: it.Conn},
		AttrName:      &types.AttributeValueMemberS{Value: it.Name},
		AttrUpdated:   &types.AttributeValueMemberN{Value: strconv.FormatInt(it.Updated.UnixMilli(), 10)},
		AttrExpiresAt: &types.AttributeValueMemberN{Value: strconv.FormatInt(it.ExpiresAt.Unix(), 10)},
	}
	if len(it.Pos) > 0 {
		item[AttrPos] = &types.AttributeValueMemberS{Value: string(it.Pos)}
	}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return s.wrap("put", err)
}

// Delete implements cursors.Store.
func (s *Store) Delete(ctx context.Context, room, user, conn string) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			AttrRoom:   &types.AttributeValueMemberS{Value: room},
			AttrMember: &types.AttributeValueMemberS{Value: cursors.Item{User: user, Conn: conn}.Member()},
		}})
	return s.wrap("delete", err)
}

// List implements cursors.Store: a query on the room, filtered on
// expires_at because DynamoDB deletes expired items late.
func (s *Store) List(ctx context.Context, room string, now time.Time) ([]cursors.Item, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#r = :r"),
		FilterExpression:         aws.String("#e > :now"),
		ExpressionAttributeNames: map[string]string{"#r": AttrRoom, "#e": AttrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":r":   &types.AttributeValueMemberS{Value: room},
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
		},
	}
	var out []cursors.Item
	for page := 0; ; page++ {
		if page >= 100 {
			return out, fmt.Errorf("cursor store: room %s has more than 100 pages of cursors", room)
		}
		res, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, s.wrap("query", err)
		}
		for _, av := range res.Items {
			it, ok := decode(av)
			// expires_at has one-second precision: drop the second of now too.
			if ok && it.ExpiresAt.After(now) {
				out = append(out, it)
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

func decode(av map[string]types.AttributeValue) (cursors.Item, bool) {
	str := func(k string) string {
		if v, ok := av[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	num := func(k string) (int64, bool) {
		v, ok := av[k].(*types.AttributeValueMemberN)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		return n, err == nil
	}
	exp, ok := num(AttrExpiresAt)
	if !ok {
		return cursors.Item{}, false
	}
	upd, _ := num(AttrUpdated)
	it := cursors.Item{Room: str(AttrRoom), User: str(AttrUser), Conn: str(AttrConn), Name: str(AttrName),
		Updated: time.UnixMilli(upd).UTC(), ExpiresAt: time.Unix(exp, 0).UTC()}
	if p := str(AttrPos); p != "" {
		it.Pos = []byte(p)
	}
	if it.User == "" || it.Conn == "" {
		return it, false
	}
	return it, true
}

// ErrNoTable says the table does not exist.
var ErrNoTable = errors.New("the DynamoDB cursor table does not exist: create it with `hotrow cursors create-table`")

func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("cursor store %s on table %q: %w (%v)", op, s.table, ErrNoTable, err)
	}
	return fmt.Errorf("cursor store %s on table %q: %w", op, s.table, err)
}

// TableAPI is the part of *dynamodb.Client that CreateTable and EnableTTL
// use.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTable creates the cursor table (room S hash key, member S range
// key, on-demand billing) and waits until it is active. A table that already
// exists is left as it is: created reports whether this call made it.
func CreateTable(ctx context.Context, api TableAPI, table string) (created bool, err error) {
	_, err = api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrRoom), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrMember), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrRoom), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrMember), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		created = false
	case err != nil:
		return false, fmt.Errorf("create cursor table %q: %w", table, err)
	default:
		created = true
	}
	for {
		out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return created, fmt.Errorf("describe cursor table %q: %w", table, err)
		}
		if out.Table != nil && out.Table.TableStatus == types.TableStatusActive {
			return created, nil
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return created, fmt.Errorf("cursor table %q not active: %w", table, ctx.Err())
		case <-t.C:
		}
	}
}

// EnableTTL turns on DynamoDB's TTL on expires_at (a deploy step; dynalite
// does not implement it).
func EnableTTL(ctx context.Context, api TableAPI, table string) error {
	_, err := api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrExpiresAt), Enabled: aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %q.%s: %w", table, AttrExpiresAt, err)
	}
	return nil
}
