package cursors

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"hotrow/internal/clock"
)

// countPeer counts frames without decoding them.
type countPeer struct{ frames atomic.Int64 }

func (p *countPeer) Send([]byte, bool) bool { p.frames.Add(1); return true }

// BenchmarkRoom50Users30Hz: 50 users in one room each move their cursor 30
// times a second. One op is one second of virtual time (a fake clock, so the
// figures do not depend on the machine's speed; ns/op is the CPU cost of
// that second). It reports the frames each socket receives a second and the
// store writes a second, and fails when they exceed the documented bounds:
// 1/Tick frames per socket (20/s) and 1/WriteInterval writes per user
// (50/s for the room).
func BenchmarkRoom50Users30Hz(b *testing.B) {
	const (
		users = 50
		hz    = 30
		steps = 60 // per virtual second: users move every other step
	)
	f := clock.NewFake(t0)
	store := &countingStore{Store: NewMemStore()}
	s := New(store, nil, Config{HubID: "bench", Clock: f})
	defer s.Close(b.Context())
	peers := make([]*countPeer, users)
	conns := make([]*Conn, users)
	for i := range users {
		peers[i] = &countPeer{}
		conns[i] = s.Connect(fmt.Sprintf("user%02d", i), "", peers[i])
		conns[i].Join(testRoom)
	}
	pos := make([][]json.RawMessage, steps)
	for st := range pos {
		pos[st] = make([]json.RawMessage, users)
		for i := range users {
			pos[st][i] = json.RawMessage(fmt.Sprintf(`{"x":%d,"y":%d,"sel":[%d,%d]}`, st*7+i, st*3, i, st))
		}
	}
	// Lock step: after each advance, wait until the room, its poll and the
	// writer have re-armed their timers and the writer's operations ended.
	settle := func() {
		for f.Timers() < 3 || s.w.busyNow() > 0 {
			runtime.Gosched()
		}
	}
	second := func() {
		for st := range steps {
			if st%(steps/hz) == 0 {
				for i, c := range conns {
					if err := c.Move(testRoom, pos[st][i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			f.Advance(time.Second / steps)
			settle()
		}
	}
	second() // warm up: joins written, first frames sent
	framesBefore := totalFrames(peers)
	putsBefore := store.puts.Load()
	b.ResetTimer()
	for range b.N {
		second()
	}
	b.StopTimer()
	secs := float64(b.N)
	framesPerSocket := float64(totalFrames(peers)-framesBefore) / users / secs
	writesPerSec := float64(store.puts.Load()-putsBefore) / secs
	b.ReportMetric(framesPerSocket, "frames/s/socket")
	b.ReportMetric(writesPerSec, "writes/s")

	cfg := s.Config()
	maxFrames := float64(time.Second / cfg.Tick)
	maxWrites := users * float64(time.Second/cfg.WriteInterval)
	if framesPerSocket > maxFrames || framesPerSocket < maxFrames/2 {
		b.Fatalf("%.1f frames/s per socket, want at most %.0f (and cursors flowing)", framesPerSocket, maxFrames)
	}
	if writesPerSec > maxWrites || writesPerSec < maxWrites/2 {
		b.Fatalf("%.1f store writes/s, want at most %.0f (and positions stored)", writesPerSec, maxWrites)
	}
}

func totalFrames(ps []*countPeer) int64 {
	var n int64
	for _, p := range ps {
		n += p.frames.Load()
	}
	return n
}
