package ratelimit

import (
	"testing"
	"time"
)

func TestKeyed(t *testing.T) {
	now := time.Unix(1000, 0)
	k := New(2, 3) // 2 a second, bursts of 3
	for i := range 3 {
		if ok, _ := k.Allow("a", now); !ok {
			t.Fatalf("event %d of the burst refused", i)
		}
	}
	ok, wait := k.Allow("a", now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := k.Allow("b", now); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := k.Allow("a", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("not refilled after 500ms")
	}
	// Full buckets are forgotten at the next sweep.
	k.Allow("c", now.Add(2*time.Minute))
	if n := k.Len(); n != 1 {
		t.Fatalf("%d buckets after a sweep, want only the new one", n)
	}
	var none *Keyed = New(0, 10)
	if ok, _ := none.Allow("x", now); !ok || none.Len() != 0 {
		t.Fatal("no limit must allow everything")
	}
}
