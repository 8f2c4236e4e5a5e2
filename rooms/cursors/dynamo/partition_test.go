package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"hotrow/rooms/cursors"
	"hotrow/rooms/cursors/dynamo"
)

// DynamoDB's limits for one partition (per second), and the share of them
// a room may use.
const (
	partitionWCU = 1000.0
	partitionRCU = 3000.0
	share        = 0.1
)

// meter is a DynamoDB table in memory that meters capacity units per
// partition key per second the way DynamoDB bills them: a write costs one
// WCU per KiB of the item, an eventually consistent query half an RCU per
// 4 KiB it reads (at least half a unit).
type meter struct {
	now func() time.Time

	mu    sync.Mutex
	items map[string]map[string]map[string]types.AttributeValue // pk → sk → item
	wcu   map[string]map[int64]float64                          // pk → second → units
	rcu   map[string]map[int64]float64
}

func newMeter(now func() time.Time) *meter {
	return &meter{now: now, items: map[string]map[string]map[string]types.AttributeValue{},
		wcu: map[string]map[int64]float64{}, rcu: map[string]map[int64]float64{}}
}

func size(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += len(v.Value)
		}
	}
	return n
}

func key(item map[string]types.AttributeValue) (string, string) {
	return item[dynamo.AttrRoom].(*types.AttributeValueMemberS).Value, item[dynamo.AttrMember].(*types.AttributeValueMemberS).Value
}

func (m *meter) charge(units map[string]map[int64]float64, pk string, u float64) {
	sec := m.now().Unix()
	if units[pk] == nil {
		units[pk] = map[int64]float64{}
	}
	units[pk][sec] += u
}

func (m *meter) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	pk, sk := key(in.Item)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items[pk] == nil {
		m.items[pk] = map[string]map[string]types.AttributeValue{}
	}
	m.items[pk][sk] = in.Item
	m.charge(m.wcu, pk, math.Ceil(float64(size(in.Item))/1024))
	return &dynamodb.PutItemOutput{}, nil
}

func (m *meter) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	pk, sk := key(in.Key)
	m.mu.Lock()
	defer m.mu.Unlock()
	u := 1.0
	if it, ok := m.items[pk][sk]; ok {
		u = max(1, math.Ceil(float64(size(it))/1024))
		delete(m.items[pk], sk)
	}
	m.charge(m.wcu, pk, u)
	return &dynamodb.DeleteItemOutput{}, nil
}

func (m *meter) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if !strings.HasPrefix(*in.KeyConditionExpression, "#r = :r") {
		return nil, fmt.Errorf("meter: unexpected key condition %s", *in.KeyConditionExpression)
	}
	pk := in.ExpressionAttributeValues[":r"].(*types.AttributeValueMemberS).Value
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []map[string]types.AttributeValue
	read := 0
	for _, it := range m.items[pk] {
		read += size(it) // the filter applies after the read: everything is billed
		out = append(out, it)
	}
	m.charge(m.rcu, pk, max(0.5, math.Ceil(float64(read)/4096)*0.5))
	return &dynamodb.QueryOutput{Items: out}, nil
}

// peak is the highest units any one partition key used in any one second.
func peak(units map[string]map[int64]float64) (string, float64) {
	var at string
	best := 0.0
	for pk, secs := range units {
		for _, u := range secs {
			if u > best {
				at, best = pk, u
			}
		}
	}
	return at, best
}

// roomLoad drives a 1,000-user room at the most the cursor writer allows
// (one put per user per second: cursors.Config.WriteInterval) with three
// hubs each reading the room once a second (PollInterval), for ten
// seconds, and returns the peak write and read units of any partition key
// in any second.
func roomLoad(t *testing.T, shards int) (wKey string, w float64, rKey string, r float64) {
	t.Helper()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	m := newMeter(func() time.Time { return now })
	s := dynamo.New(m, "cursors").WithShards(shards)
	ctx := context.Background()
	const users, hubs, seconds = 1000, 3, 10
	for sec := 0; sec < seconds; sec++ {
		// Spread the second's operations over it, as the writers do.
		for u := 0; u < users; u++ {
			now = start.Add(time.Duration(sec)*time.Second + time.Duration(u)*time.Second/users)
			pos, _ := json.Marshal(map[string]any{"table": "t_orders_archive", "column": "customer_id", "x": 1200 + u, "y": 640 + sec})
			it := cursors.Item{Room: "schema:big", User: fmt.Sprintf("user-%04d", u), Conn: fmt.Sprintf("hub-%d.abcdefgh.%d", u%hubs, u),
				Name: fmt.Sprintf("User Number %d", u), Pos: pos, Updated: now, ExpiresAt: now.Add(30 * time.Second)}
			if err := s.Put(ctx, it); err != nil {
				t.Fatal(err)
			}
			if u%(users/hubs) == 0 && u/(users/hubs) < hubs {
				items, err := s.List(ctx, "schema:big", now)
				if err != nil {
					t.Fatal(err)
				}
				if sec > 0 && len(items) != users {
					t.Fatalf("List returned %d items, want %d", len(items), users)
				}
			}
		}
	}
	wKey, w = peak(m.wcu)
	rKey, r = peak(m.rcu)
	return
}

// A 1,000-user room, at the writer's bound of one put per user per second
// and three hubs polling it, stays under a tenth of one partition's write
// and read limits on every partition key. Unsharded, the same load is over
// the tenth (and at the partition's whole write limit): the meter counts
// what the sharding saves.
func TestBigRoomStaysUnderATenthOfThePartitionLimits(t *testing.T) {
	wKey, w, rKey, r := roomLoad(t, dynamo.DefaultShards)
	t.Logf("%d shards: peak %.0f WCU/s on %s, %.1f RCU/s on %s (limits %.0f and %.0f a partition)",
		dynamo.DefaultShards, w, wKey, r, rKey, partitionWCU, partitionRCU)
	if w >= share*partitionWCU || r >= share*partitionRCU {
		t.Fatalf("peak %.0f WCU/s and %.1f RCU/s on one key; want under %.0f and %.0f", w, r, share*partitionWCU, share*partitionRCU)
	}
	_, w1, _, r1 := roomLoad(t, 1)
	t.Logf("unsharded: peak %.0f WCU/s, %.1f RCU/s", w1, r1)
	if w1 < share*partitionWCU {
		t.Fatalf("unsharded peak %.0f WCU/s: the meter does not see the hot key", w1)
	}
}

// Every member lands in one shard in range, and shards are used evenly
// enough that none holds twice its share of a big room.
func TestShardOf(t *testing.T) {
	counts := make([]int, dynamo.DefaultShards)
	for u := 0; u < 1000; u++ {
		sh := dynamo.ShardOf(fmt.Sprintf("user-%04d#hub.x.%d", u, u), dynamo.DefaultShards)
		if sh < 0 || sh >= dynamo.DefaultShards {
			t.Fatalf("shard %d", sh)
		}
		counts[sh]++
	}
	for sh, n := range counts {
		if n == 0 || n > 2*1000/dynamo.DefaultShards {
			t.Fatalf("shard %d holds %d of 1000 members: %v", sh, n, counts)
		}
	}
	s := dynamo.New(nil, "t")
	if k := s.PartitionKey("schema:doc", "ann#c1"); !strings.HasPrefix(k, "schema:doc#") || len(k) != len("schema:doc#00") {
		t.Fatalf("partition key %q", k)
	}
	if s.WithShards(0).Shards() != dynamo.DefaultShards || s.WithShards(4).Shards() != 4 {
		t.Fatal("WithShards")
	}
}
