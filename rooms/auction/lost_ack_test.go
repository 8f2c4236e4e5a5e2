package auction_test

import (
	"errors"
	"sync/atomic"
	"testing"
)

// loseNext makes the next n commits apply but report an unknown outcome, as
// when the connection drops during COMMIT.
func (e *env) loseNext(n int32) *atomic.Int32 {
	left := &atomic.Int32{}
	left.Store(n)
	e.mem.KV().LoseCommitAcks(func() error {
		if left.Add(-1) >= 0 {
			return errors.New("connection reset during COMMIT")
		}
		return nil
	})
	return left
}

// A bid whose COMMIT outcome was unknown is retried, and the retry finds the
// stored idempotency record: one bid row, acked with the version it
// committed as, never guessed.
func TestEngineBidCommitOutcomeUnknown(t *testing.T) {
	e := newEnv(t)
	e.create(nil)
	en := e.engine()
	e.loseNext(1)
	out := apply(en, bid("bob", "b1", `"100.00"`))
	wantAck(t, out, 2)
	if out.Attempts != 1 {
		t.Errorf("ack attempts = %d: the attempt that committed was the first", out.Attempts)
	}
	if n := len(e.bids()); n != 1 {
		t.Fatalf("%d bid rows after a lost COMMIT acknowledgement, want 1", n)
	}
	if got := e.attempts("bid"); got != 2 {
		t.Errorf("attempts metric = %v, want 2 (the lost one and the retry that found it)", got)
	}
}

// Creating an auction whose COMMIT outcome was unknown succeeds on the
// retry that finds its own row, instead of answering "already exists".
func TestCreateCommitOutcomeUnknown(t *testing.T) {
	e := newEnv(t)
	e.loseNext(1)
	a := e.create(nil)
	got, v, err := e.store.Get(t.Context(), "a1")
	if err != nil || v != 1 || got != a {
		t.Fatalf("after a lost create acknowledgement: %+v v%d %v", got, v, err)
	}
}
