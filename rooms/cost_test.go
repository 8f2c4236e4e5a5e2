package rooms_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"hotrow/rooms"
	"hotrow/rooms/auction"
)

// A room worker costs little until it has work: no queue of pending
// messages is allocated up front. Many live rooms, each joined by one
// subscriber, hold a few KiB of heap each (their cached state and
// bookkeeping), not a thousand-slot inbox.
func TestRoomWorkersAreCheap(t *testing.T) {
	const n = 300
	w := newWorld(t)
	for i := range n {
		w.Auction(auction.CreateRequest{ID: fmt.Sprint("c", i), Title: "Lamp", StartingPrice: "1.00", Increment: "1.00"})
	}
	h := w.hub(rooms.Config{})
	before := heapInUse()
	subs := make([]*sub, n)
	for i := range n {
		subs[i] = &sub{name: fmt.Sprint("s", i)}
		outcome := make(chan bool, 1)
		if err := h.Join(context.Background(), fmt.Sprint("auction:c", i), subs[i], nil, "", func(ok bool) { outcome <- ok }); err != nil {
			t.Fatal(err)
		}
		if !<-outcome {
			t.Fatalf("join %d refused", i)
		}
	}
	if h.Live() != n {
		t.Fatalf("%d live rooms, want %d", h.Live(), n)
	}
	perRoom := (heapInUse() - before) / n
	t.Logf("%d bytes of heap per live room", perRoom)
	if perRoom > 24<<10 {
		t.Fatalf("each live room holds %d bytes of heap; an idle room should hold a few KiB", perRoom)
	}
	runtime.KeepAlive(subs)
}

func heapInUse() int64 {
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
