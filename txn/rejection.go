package txn

// Rejection is a business outcome: the mutation had no effect and must not be
// retried (a bid below the minimum, a stale schema edit). The attempt function
// returns it (possibly wrapped) after rolling back; [Runner.Run] returns it
// unchanged with outcome [Rejected].
//
// RejectReason is the wire reason (for example "bid_too_low", "stale").
type Rejection interface {
	error
	RejectReason() string
}
