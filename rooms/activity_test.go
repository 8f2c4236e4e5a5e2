package rooms

import (
	"testing"
	"time"
)

// A room's activity counts what happened within the last minute, and
// forgets what is older, however the seconds fall in its ring.
func TestActivityWindow(t *testing.T) {
	var a activity
	t0 := time.Unix(1_000_000, 0)
	a.add(t0, 3, 1)
	a.add(t0.Add(500*time.Millisecond), 2, 0)
	a.add(t0.Add(30*time.Second), 1, 1)
	a.add(t0.Add(31*time.Second), 0, 0) // nothing tried: nothing counted
	if at, c := a.sum(t0.Add(59 * time.Second)); at != 6 || c != 2 {
		t.Fatalf("within the minute: %d attempts %d conflicts, want 6 and 2", at, c)
	}
	if at, c := a.sum(t0.Add(61 * time.Second)); at != 1 || c != 1 {
		t.Fatalf("a minute on: %d attempts %d conflicts, want only the later 1 and 1", at, c)
	}
	// A bucket reused a minute later starts from zero.
	a.add(t0.Add(60*time.Second), 4, 0)
	if at, _ := a.sum(t0.Add(61 * time.Second)); at != 5 {
		t.Fatalf("after reuse: %d attempts, want 5", at)
	}
	if at, c := a.sum(t0.Add(10 * time.Minute)); at != 0 || c != 0 {
		t.Fatalf("ten minutes on: %d %d, want nothing", at, c)
	}
}
