package rooms

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// ActivityWindow is how far back Registry.Hot looks.
const ActivityWindow = time.Minute

// activity counts one room's transaction attempts and conflicts per second
// over the last ActivityWindow: a ring of one-second buckets, written by the
// room's sequencer and read by Hot.
type activity struct {
	mu      sync.Mutex
	buckets [60]struct {
		sec                 int64 // the Unix second the bucket holds; older is stale
		attempts, conflicts int
	}
}

func (a *activity) add(now time.Time, attempts, conflicts int) {
	if attempts == 0 && conflicts == 0 {
		return
	}
	sec := now.Unix()
	a.mu.Lock()
	b := &a.buckets[sec%int64(len(a.buckets))]
	if b.sec != sec {
		b.sec, b.attempts, b.conflicts = sec, 0, 0
	}
	b.attempts += attempts
	b.conflicts += conflicts
	a.mu.Unlock()
}

// sum is the attempts and conflicts of the window ending at now.
func (a *activity) sum(now time.Time) (attempts, conflicts int) {
	since := now.Unix() - int64(len(a.buckets))
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, b := range a.buckets {
		if b.sec > since {
			attempts += b.attempts
			conflicts += b.conflicts
		}
	}
	return attempts, conflicts
}

// RoomActivity is one room's figures over the last ActivityWindow on this
// hub: transaction attempts, conflicts (attempts that failed retryably) and
// sockets subscribed now.
type RoomActivity struct {
	Room        string `json:"room"`
	Kind        string `json:"kind"`
	Attempts    int    `json:"attempts"`
	Conflicts   int    `json:"conflicts"`
	Subscribers int    `json:"subscribers"`
}

// Hot lists this hub's running rooms, busiest first by what (attempts,
// conflicts or subscribers; the others break ties), at most limit of them.
// Metrics never name a room (their labels are bounded); this is how an
// operator finds the room that burns retries.
func (r *Registry) Hot(what string, limit int) []RoomActivity {
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	all := make([]RoomActivity, 0, len(r.live))
	for name, s := range r.live {
		attempts, conflicts := s.activity.sum(now)
		all = append(all, RoomActivity{Room: name, Kind: s.kind, Attempts: attempts, Conflicts: conflicts,
			Subscribers: int(s.subscribers.Load())})
	}
	r.mu.Unlock()
	key := func(a RoomActivity) [3]int {
		switch what {
		case "conflicts":
			return [3]int{a.Conflicts, a.Attempts, a.Subscribers}
		case "subscribers":
			return [3]int{a.Subscribers, a.Attempts, a.Conflicts}
		}
		return [3]int{a.Attempts, a.Conflicts, a.Subscribers}
	}
	slices.SortFunc(all, func(a, b RoomActivity) int {
		ka, kb := key(a), key(b)
		for i := range ka {
			if c := cmp.Compare(kb[i], ka[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Room, b.Room)
	})
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all
}
