package cursors

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Item is one connection's cursor in one room, as stored.
type Item struct {
	Room string
	User string
	// Conn identifies the connection; a user with several sockets has one
	// item per socket. It starts with the service's instance id.
	Conn string
	Name string
	// Pos is the client's JSON object, nil before the first move.
	Pos json.RawMessage
	// Updated is when Pos (or the presence) last changed.
	Updated time.Time
	// ExpiresAt is when the item stops counting unless refreshed.
	ExpiresAt time.Time
}

// Member is the item's sort key: user#connection.
func (it Item) Member() string { return it.User + "#" + it.Conn }

// Store keeps cursor items with a TTL. Implementations must be safe for
// concurrent use.
type Store interface {
	// Put writes the item, replacing one with the same room and member.
	Put(ctx context.Context, it Item) error
	// Delete removes the item of (room, user, conn); a missing one is fine.
	Delete(ctx context.Context, room, user, conn string) error
	// List returns the room's items that have not expired at now.
	List(ctx context.Context, room string, now time.Time) ([]Item, error)
}

// MemStore is the embedded Store: in memory, for one process. Expired items
// are filtered on read and purged as they are found.
type MemStore struct {
	mu    sync.Mutex
	rooms map[string]map[string]Item
}

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore { return &MemStore{rooms: map[string]map[string]Item{}} }

// Put implements Store.
func (m *MemStore) Put(ctx context.Context, it Item) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	it.Pos = append(json.RawMessage(nil), it.Pos...)
	if len(it.Pos) == 0 {
		it.Pos = nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[it.Room]
	if r == nil {
		r = map[string]Item{}
		m.rooms[it.Room] = r
	}
	r[it.Member()] = it
	return nil
}

// Delete implements Store.
func (m *MemStore) Delete(ctx context.Context, room, user, conn string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rooms[room]; r != nil {
		delete(r, Item{User: user, Conn: conn}.Member())
		if len(r) == 0 {
			delete(m.rooms, room)
		}
	}
	return nil
}

// List implements Store.
func (m *MemStore) List(ctx context.Context, room string, now time.Time) ([]Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[room]
	out := make([]Item, 0, len(r))
	for k, it := range r {
		if !it.ExpiresAt.After(now) {
			delete(r, k)
			continue
		}
		out = append(out, it)
	}
	if r != nil && len(r) == 0 {
		delete(m.rooms, room)
	}
	return out, nil
}
