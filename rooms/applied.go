package rooms

// AppliedKey is the key of an idempotency record within a room.
func AppliedKey(user, id string) string { return user + "\x00" + id }

// AppliedSet is what one hub knows of a room's committed message ids, up to
// the version it has broadcast, keyed by AppliedKey. A resend whose record
// carries Attempts is answered from here; ids learnt from other hubs' events
// have no Attempts, so their ack is read back from the store. Engines also
// use it to early-reject safely: an id not here was not committed at or
// before the version this hub knows.
type AppliedSet map[string]Applied

// Answer returns the ack for a resend that this hub can give without the
// store.
func (s AppliedSet) Answer(user, id string) (Applied, bool) {
	a, ok := s[AppliedKey(user, id)]
	return a, ok && a.Attempts > 0
}

// Known reports whether the message committed at or before the version
// this hub knows.
func (s AppliedSet) Known(user, id string) bool {
	_, ok := s[AppliedKey(user, id)]
	return ok
}

// Learn notes an id seen in a committed event, keeping a record with
// attempts if there is one.
func (s *AppliedSet) Learn(user, id string, version int64) {
	if *s == nil {
		*s = AppliedSet{}
	}
	if k := AppliedKey(user, id); (*s)[k].Version == 0 {
		(*s)[k] = Applied{Version: version}
	}
}

// Record stores the ack this hub gave (or read back) for the message.
func (s *AppliedSet) Record(user, id string, a Applied) {
	if *s == nil {
		*s = AppliedSet{}
	}
	(*s)[AppliedKey(user, id)] = a
}
