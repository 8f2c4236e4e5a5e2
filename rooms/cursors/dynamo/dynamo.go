// Package dynamo is the DynamoDB cursor store (cursors.Store) through
// aws-sdk-go-v2.
//
// Table: partition key "room" (S), sort key "member" (S, "user#connection"),
// on-demand billing. Each item also holds user, conn, name, pos (the JSON
// object as a string; absent before the first move), updated (epoch
// milliseconds) and expires_at (epoch seconds), the TTL attribute.
//
// Sharding. One partition key per room would cap a room at one partition's
// throughput (1,000 writes and 3,000 reads a second): a 1,000-user room at
// one put per user a second reaches it. So the partition key is
// "ROOM#SS", the shard SS being a hash of the member modulo Shards (default
// 16), and List reads every shard. Every hub sharing a table must use the
// same shard count.
//
// Create the table with CreateTable and turn TTL on with EnsureTTL (both
// are `hotrow cursors create-table`). DynamoDB deletes expired items late
// (typically within days), so reads filter on expires_at anyway; dynalite,
// the local stand-in, has no TTL at all.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
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

// DefaultShards is the number of partition keys a room's items spread over.
const DefaultShards = 16

// MaxShards bounds the shard count: List makes one query per shard.
const MaxShards = 256

// Store is a cursors.Store on one DynamoDB table.
type Store struct {
	api    API
	table  string
	shards int
}

var _ cursors.Store = (*Store)(nil)

// New returns the store on table through api (a *dynamodb.Client), with
// DefaultShards shards per room.
func New(api API, table string) *Store { return &Store{api: api, table: table, shards: DefaultShards} }

// WithShards sets how many partition keys each room spreads over (1 to
// MaxShards; out of range keeps the current count). Every hub on the table
// must use the same.
func (s *Store) WithShards(n int) *Store {
	if n >= 1 && n <= MaxShards {
		s.shards = n
	}
	return s
}

// Shards is the shard count.
func (s *Store) Shards() int { return s.shards }

// PartitionKey is the partition key of member's item in room: the room and
// the member's shard.
func (s *Store) PartitionKey(room, member string) string {
	return shardKey(room, ShardOf(member, s.shards))
}

// ShardOf is member's shard among n: the 64-bit FNV-1a of the member,
// mixed by MurmurHash3's finalizer (FNV's low bits alone spread similar
// names poorly), modulo n. Every hub computes the same.
func ShardOf(member string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(member))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return int(x % uint64(n))
}

func shardKey(room string, shard int) string { return fmt.Sprintf("%s#%02d", room, shard) }

// Table is the table's name.
func (s *Store) Table() string { return s.table }

// Put implements cursors.Store.
func (s *Store) Put(ctx context.Context, it cursors.Item) error {
	item := map[string]types.AttributeValue{
		AttrRoom:      &types.AttributeValueMemberS{Value: s.PartitionKey(it.Room, it.Member())},
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
	member := cursors.Item{User: user, Conn: conn}.Member()
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			AttrRoom:   &types.AttributeValueMemberS{Value: s.PartitionKey(room, member)},
			AttrMember: &types.AttributeValueMemberS{Value: member},
		}})
	return s.wrap("delete", err)
}

// List implements cursors.Store: one query per shard of the room, run
// together, each filtered on expires_at because DynamoDB deletes expired
// items late.
func (s *Store) List(ctx context.Context, room string, now time.Time) ([]cursors.Item, error) {
	parts := make([][]cursors.Item, s.shards)
	errs := make([]error, s.shards)
	var wg sync.WaitGroup
	for shard := range s.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[shard], errs[shard] = s.listShard(ctx, room, shard, now)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []cursors.Item
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

func (s *Store) listShard(ctx context.Context, room string, shard int, now time.Time) ([]cursors.Item, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#r = :r"),
		FilterExpression:         aws.String("#e > :now"),
		ExpressionAttributeNames: map[string]string{"#r": AttrRoom, "#e": AttrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":r":   &types.AttributeValueMemberS{Value: shardKey(room, shard)},
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
		},
	}
	var out []cursors.Item
	for page := 0; ; page++ {
		if page >= 100 {
			return out, fmt.Errorf("cursor store: room %s shard %d has more than 100 pages of cursors", room, shard)
		}
		res, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, s.wrap("query", err)
		}
		for _, av := range res.Items {
			it, ok := decode(av)
			// expires_at has one-second precision: drop the second of now too.
			if ok && it.ExpiresAt.After(now) {
				it.Room = room
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

// TableAPI is the part of *dynamodb.Client that CreateTable and EnsureTTL
// use.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
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
