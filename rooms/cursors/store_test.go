package cursors

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// countingStore counts puts and can fail every operation.
type countingStore struct {
	Store
	puts, deletes atomic.Int64
	fail          atomic.Bool
}

var errDown = errors.New("store down")

func (c *countingStore) Put(ctx context.Context, it Item) error {
	if c.fail.Load() {
		return errDown
	}
	c.puts.Add(1)
	return c.Store.Put(ctx, it)
}

func (c *countingStore) Delete(ctx context.Context, room, user, conn string) error {
	if c.fail.Load() {
		return errDown
	}
	c.deletes.Add(1)
	return c.Store.Delete(ctx, room, user, conn)
}

func (c *countingStore) List(ctx context.Context, room string, now time.Time) ([]Item, error) {
	if c.fail.Load() {
		return nil, errDown
	}
	return c.Store.List(ctx, room, now)
}
