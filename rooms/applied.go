package rooms

// AppliedKey is the key of an idempotency record within a room.
func AppliedKey(user, id string) string { return user + "\x00" + id }

// AppliedIDs is what one hub keeps in memory of a room's committed message
// ids, in a size that does not grow with the room's history:
//
//   - the window: the ids of the newest versions (up to IDConfig.Window
//     plus a Step of them), each with its ack when this hub gave it or read
//     it back; ids learnt from other hubs' events have no attempts, so their
//     ack is read back from the store;
//   - the summary: Bloom filters holding every id of a version up to its
//     cover (less than two Steps behind the newest), which answer
//     "certainly not committed" or "maybe".
//
// Every id of a version up to the newest this hub knows is in one or the
// other, so an id in neither did not commit at or before that version, and
// an engine may early-reject it. A "maybe" is settled with one indexed
// point read (Committer.Lookup); the store, not this set, is the truth.
type AppliedIDs struct {
	cfg    IDConfig
	recent map[string]Applied
	order  []recentID // recent's keys, oldest version first (nearly: see put)
	head   int        // order[:head] are gone
	sum    summary
	// newest is the newest version put in the window; evicted the version
	// up to which the window may have dropped ids (Evicted).
	newest, evicted int64
	// retryAt is the version before which a failed upkeep is not retried.
	retryAt int64
}

type recentID struct {
	version int64
	key     string
}

// NewAppliedIDs is an empty set sized by cfg (a new room's).
func NewAppliedIDs(cfg IDConfig) AppliedIDs {
	cfg = cfg.WithDefaults()
	return AppliedIDs{cfg: cfg, sum: summary{cfg: cfg}}
}

// seen is what the set knows of one id.
type seen int

const (
	seenNot      seen = iota // not committed at or before the newest version known
	seenAck                  // committed, with its ack at hand
	seenNoAck                // committed (learnt from an event), its ack not at hand
	seenMaybeOld             // maybe committed at a version the summary covers
)

func (s *AppliedIDs) lookup(user, id string) (Applied, seen) {
	k := AppliedKey(user, id)
	if a, ok := s.recent[k]; ok {
		if a.Attempts > 0 {
			return a, seenAck
		}
		return a, seenNoAck
	}
	if s.sum.cover > 0 && s.sum.mayContain(hashKey(k)) {
		return Applied{}, seenMaybeOld
	}
	return Applied{}, seenNot
}

// Answer returns the ack for a resend that this hub can give from memory.
func (s *AppliedIDs) Answer(user, id string) (Applied, bool) {
	a, st := s.lookup(user, id)
	return a, st == seenAck
}

// Learn notes an id seen in a committed event, keeping a record with
// attempts if there is one. Engines call it from Observe for every event
// that carries an id: early rejection relies on it.
func (s *AppliedIDs) Learn(user, id string, version int64) {
	s.put(AppliedKey(user, id), Applied{Version: version}, false)
}

// Record stores the ack this hub gave (or read back) for the message.
func (s *AppliedIDs) Record(user, id string, a Applied) {
	s.put(AppliedKey(user, id), a, true)
}

func (s *AppliedIDs) put(k string, a Applied, replace bool) {
	if a.Version <= s.evicted || a.Version <= s.newest-s.cfg.Window {
		return // too old for the window: the summary holds it, the store its ack
	}
	s.newest = max(s.newest, a.Version)
	if s.recent == nil {
		s.recent = map[string]Applied{}
	}
	old, ok := s.recent[k]
	if ok && (!replace || (old.Attempts > 0 && a.Attempts == 0)) {
		return
	}
	if !ok || old.Version != a.Version {
		s.order = append(s.order, recentID{version: a.Version, key: k})
	}
	s.recent[k] = a
}

// evict drops the window's ids of versions up to v, which the summary
// must hold by now.
func (s *AppliedIDs) evict(v int64) {
	v = min(v, s.sum.cover)
	s.evicted = max(s.evicted, v)
	for s.head < len(s.order) && s.order[s.head].version <= v {
		e := s.order[s.head]
		if a, ok := s.recent[e.key]; ok && a.Version == e.version {
			delete(s.recent, e.key)
		}
		s.order[s.head] = recentID{}
		s.head++
	}
	if s.head > 64 && s.head*2 > len(s.order) {
		s.order = append(s.order[:0:0], s.order[s.head:]...)
		s.head = 0
	}
}

// Len is how many ids the window holds.
func (s *AppliedIDs) Len() int { return len(s.recent) }

// Cover is the version up to which the summary holds every id.
func (s *AppliedIDs) Cover() int64 { return s.sum.cover }

// Evicted is the version after which the window holds every id this hub
// knows: a resend of a later one is answered from memory, an older one
// with a point read.
func (s *AppliedIDs) Evicted() int64 { return s.evicted }

// SummaryBytes is the summary's size in memory.
func (s *AppliedIDs) SummaryBytes() int { return s.sum.bytes() }
