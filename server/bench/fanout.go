package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// fanoutResult is what one target measured.
type fanoutResult struct {
	target string
	err    error

	// The join storm of Sockets watchers into one room.
	stormTime    time.Duration // dialled and joined, all of them
	stormCPU     time.Duration // the server's CPU time during the storm
	stormClient  time.Duration // the load client's CPU time during the storm
	stormJoined  int
	slowWelcome  time.Duration // the slowest first frame after dialling
	p99Welcome   time.Duration
	presence     int64 // presence bytes received by the storm's watchers
	presenceBase int64 // ... by the small storm's (Sockets/10) watchers
	baseSockets  int

	// Memory of the idle, joined sockets.
	rssBase, rssIdle int64

	// The fan-out.
	events      int // triggers sent
	deliveries  int64
	disorder    int
	missing     int64
	cpu         time.Duration
	latP50      time.Duration
	latP99      time.Duration
	latMax      time.Duration
	eventBytes  int64
	eventFrames int64
	fanFrames   int64 // frames (messages) received during the fan-out
}

func (r *fanoutResult) rssPerSocket() float64 {
	if r.stormJoined == 0 {
		return 0
	}
	return float64(r.rssIdle-r.rssBase) / float64(r.stormJoined)
}

func (r *fanoutResult) cpuPerDelivery() time.Duration {
	if r.deliveries == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.deliveries)
}

// runFanout measures one target: a small join storm (for presence growth),
// the big join storm, the memory of the idle sockets, then the fan-out of
// cfg.Events events at cfg.Rate to every socket.
func runFanout(ctx context.Context, cfg Config, t target) (res *fanoutResult) {
	res = &fanoutResult{target: t.name()}
	srv, err := t.start(ctx)
	if err != nil {
		res.err = err
		return res
	}
	defer srv.stop()
	d := &dialer{sources: 200}
	cfg.logf("%s: started (pid %d)", t.name(), srv.pid())

	// Small storm first: presence bytes per joiner at a tenth of the size.
	small := max(cfg.Sockets/10, 1)
	room, err := t.room(ctx, "storm")
	if err != nil {
		res.err = err
		return res
	}
	var smallLoops sync.WaitGroup
	sw, _, err := storm(ctx, cfg, t, d, room, small, nil, time.Now(), &smallLoops)
	time.Sleep(cfg.Settle)
	for _, w := range sw {
		res.presenceBase += w.presenceBytes.Load()
		w.s.close()
	}
	smallLoops.Wait()
	res.baseSockets = len(sw)
	if err != nil {
		res.err = err
		return res
	}
	time.Sleep(2 * time.Second)
	if res.rssBase, err = srv.rss(); err != nil {
		res.err = err
		return res
	}

	room, err = t.room(ctx, "fanout")
	if err != nil {
		res.err = err
		return res
	}
	start := time.Now()
	cpu0, _ := srv.cpu()
	client0 := selfCPU()
	var stop sync.WaitGroup
	sent := make([]atomic.Int64, cfg.Events)
	epoch := start
	ws, welcomes, err := storm(ctx, cfg, t, d, room, cfg.Sockets, sent, epoch, &stop)
	res.stormTime = time.Since(start)
	cpu1, _ := srv.cpu()
	res.stormCPU, res.stormClient = cpu1-cpu0, selfCPU()-client0
	res.stormJoined = len(ws)
	defer func() {
		for _, w := range ws {
			w.s.close()
		}
		stop.Wait()
	}()
	if err != nil {
		res.err = err
		return res
	}
	slices.Sort(welcomes)
	res.slowWelcome = welcomes[len(welcomes)-1]
	res.p99Welcome = welcomes[len(welcomes)*99/100]
	cfg.logf("%s: %d sockets joined in %v (slowest welcome %v; CPU: server %v, load client %v)", t.name(), len(ws), res.stormTime.Round(time.Millisecond),
		res.slowWelcome.Round(time.Millisecond), res.stormCPU, res.stormClient.Round(time.Millisecond))
	// Idle: let the storm's presence settle, then read the memory.
	time.Sleep(cfg.Settle)
	fanStart := time.Now()
	for _, w := range ws {
		res.presence += w.presenceBytes.Load()
	}
	if res.rssIdle, err = srv.rss(); err != nil {
		res.err = err
		return res
	}
	cfg.logf("%s: idle RSS %.1f MB (%.1f KB per socket)", t.name(), float64(res.rssIdle)/1e6, res.rssPerSocket()/1024)

	// The fan-out.
	send, closeTrigger, err := t.trigger(ctx, d, room)
	if err != nil {
		res.err = err
		return res
	}
	defer closeTrigger()
	cpu0, _ = srv.cpu()
	var frames0 int64
	for _, w := range ws {
		frames0 += w.frames.Load()
	}
	every := time.Duration(float64(time.Second) / cfg.Rate)
	for n := 0; n < cfg.Events; n++ {
		if wait := time.Until(fanStart.Add(time.Duration(n) * every)); wait > 0 {
			// Triggers are paced from the fan-out's start, not from the
			// previous send, so a slow send does not lower the rate.
			time.Sleep(wait)
		}
		sent[n].Store(int64(time.Since(epoch)))
		if err := send(ctx, n); err != nil {
			res.err = fmt.Errorf("trigger %d: %w", n, err)
			return res
		}
		res.events++
	}
	// Wait for the last deliveries (bounded), then read the CPU.
	want := int64(res.events) * int64(len(ws))
	deadline := time.Now().Add(cfg.Drain)
	for time.Now().Before(deadline) && delivered(ws) < want {
		time.Sleep(50 * time.Millisecond)
	}
	cpu1, _ = srv.cpu()
	res.cpu = cpu1 - cpu0
	for _, w := range ws {
		res.fanFrames += w.frames.Load()
	}
	res.fanFrames -= frames0
	for _, w := range ws {
		w.s.close()
	}
	stop.Wait()
	var lat []int32
	for _, w := range ws {
		res.deliveries += int64(w.got)
		res.disorder += w.disorder
		res.eventBytes += w.eventBytes.Load()
		lat = append(lat, w.lat...)
	}
	res.missing = want - res.deliveries
	if cfg.PerEvent {
		perEvent(cfg, t.name(), res.events, ws)
	}
	// A delivery that did not come within the drain window counts as slower
	// than any that came: percentiles are over every delivery owed.
	for range max(res.missing, 0) {
		lat = append(lat, undelivered)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		us := func(i int) time.Duration { return time.Duration(lat[i]) * time.Microsecond }
		res.latP50, res.latP99, res.latMax = us(len(lat)/2), us(len(lat)*99/100), us(len(lat)-1)
	}
	res.eventFrames = res.deliveries
	cfg.logf("%s: %d events to %d sockets: p50 %v p99 %v, %v CPU per delivery, %.2f events per frame", t.name(), res.events, len(ws),
		res.latP50, res.latP99, res.cpuPerDelivery(), float64(res.deliveries)/float64(max(res.fanFrames, 1)))
	return res
}

// undelivered stands, among latencies in microseconds, for a delivery
// that never came.
const undelivered = math.MaxInt32

// delivered counts the events the watchers received so far.
func delivered(ws []*watcher) int64 {
	var n int64
	for _, w := range ws {
		n += w.events.Load()
	}
	return n
}

// storm dials and joins n watchers to room, cfg.Dialers at a time, and
// returns them with the time each waited for its first frame. Each watcher
// reads from the moment it joined (see watcher.readLoop, which loops adds
// to), as a browser would: a client that stopped reading during a storm
// would be measuring its own buffers.
func storm(ctx context.Context, cfg Config, t target, d *dialer, room string, n int,
	sent []atomic.Int64, epoch time.Time, loops *sync.WaitGroup) ([]*watcher, []time.Duration, error) {
	ws := make([]*watcher, n)
	welcomes := make([]time.Duration, n)
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	ctx, cancel := context.WithTimeout(ctx, cfg.StormTimeout)
	defer cancel()
	for range min(cfg.Dialers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				w := &watcher{}
				wel, err := t.join(ctx, d, room, w)
				if err != nil {
					errOnce.Do(func() { first = fmt.Errorf("socket %d: %w", i, err); cancel() })
					return
				}
				ws[i], welcomes[i] = w, wel
				loops.Add(1)
				go w.readLoop(t, sent, epoch, loops.Done)
			}
		}()
	}
	wg.Wait()
	out, outW := ws[:0], welcomes[:0]
	for i, w := range ws {
		if w != nil {
			out, outW = append(out, w), append(outW, welcomes[i])
		}
	}
	return out, outW, first
}

// perEvent writes, for each event, how long the first, the median, the
// 99th-percentile and the last socket waited for it: whether a slow
// delivery was the writers' pass over the sockets (the first quick, the
// last late) or held back for every socket (the first late too). Only
// watchers that got every event count, so that latency i is event i's.
func perEvent(cfg Config, name string, events int, ws []*watcher) {
	var full []*watcher
	for _, w := range ws {
		if w.got == events && w.disorder == 0 && len(w.lat) == events {
			full = append(full, w)
		}
	}
	if len(full) == 0 {
		return
	}
	cfg.logf("%s: per event, over the %d sockets that got every event (ms): first, p50, p99, last", name, len(full))
	l := make([]int32, len(full))
	for n := range events {
		for i, w := range full {
			l[i] = w.lat[n]
		}
		slices.Sort(l)
		cfg.logf("%s: event %d: %d %d %d %d", name, n, l[0]/1000, l[len(l)/2]/1000, l[len(l)*99/100]/1000, l[len(l)-1]/1000)
	}
}
