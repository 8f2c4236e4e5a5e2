package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// print writes the report as a Markdown table: one row per measure, a
// column per server, and hotrow's ratio to the reference with the goal.
func (r *Report) print(w io.Writer) {
	c := r.cfg
	fmt.Fprintf(w, "\n## hotrow bench: %d sockets in one room, %d events at %g/s, %s (open-file limit %d)\n\n",
		c.Sockets, c.Events, c.Rate, runsText(max(c.Runs, 1)), r.fds)
	fmt.Fprintf(w, "Latency percentiles are over every delivery owed: one that did not come within %v of the last event counts as slower than any that came.\n\n", c.Drain)
	head := []string{"measure"}
	for _, runs := range r.fanout {
		head = append(head, runs[0].target)
	}
	ratio := len(r.fanout) == 2
	if ratio {
		head = append(head, "hotrow ÷ "+r.fanout[1][0].target, "goal")
	}
	row := func(cells ...string) { fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | ")) }
	row(head...)
	row(strings.Split(strings.Repeat("---,", len(head)), ",")[:len(head)]...)

	type measure struct {
		name string
		val  func(*fanoutResult) float64
		unit func(float64) string
		goal string
		sum  bool // a count: summed over the runs, not their median
	}
	ms := func(v float64) string {
		if v >= float64(undelivered)/1e3 {
			return fmt.Sprintf("not delivered within %v", c.Drain)
		}
		return fmt.Sprintf("%.0f ms", v)
	}
	us := func(v float64) string { return fmt.Sprintf("%.1f µs", v) }
	kb := func(v float64) string { return fmt.Sprintf("%.1f KB", v/1024) }
	sec := func(v float64) string { return fmt.Sprintf("%.2f s", v) }
	num := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	bytes := func(v float64) string { return fmt.Sprintf("%.0f B", v) }
	two := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	dur := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	list := []measure{
		{"latency p50", func(f *fanoutResult) float64 { return dur(f.latP50) }, ms, "", false},
		{"latency p99", func(f *fanoutResult) float64 { return dur(f.latP99) }, ms, "≤ 0.7", false},
		{"latency max", func(f *fanoutResult) float64 { return dur(f.latMax) }, ms, "", false},
		{"server CPU per delivered event", func(f *fanoutResult) float64 { return float64(f.cpuPerDelivery()) / 1e3 }, us, "≤ 0.6", false},
		{"RSS per idle joined socket", func(f *fanoutResult) float64 { return f.rssPerSocket() }, kb, "≤ 0.6", false},
		{fmt.Sprintf("%d sockets dialled and joined", c.Sockets), func(f *fanoutResult) float64 { return f.stormTime.Seconds() }, sec, "≤ 1.0", false},
		{"slowest welcome during the storm", func(f *fanoutResult) float64 { return f.slowWelcome.Seconds() }, sec, "≤ 2 s", false},
		{"p99 welcome during the storm", func(f *fanoutResult) float64 { return f.p99Welcome.Seconds() }, sec, "", false},
		{"presence bytes per joiner, storm of a tenth", func(f *fanoutResult) float64 { return perJoiner(f.presenceBase, f.baseSockets) }, bytes, "", false},
		{"presence bytes per joiner, full storm", func(f *fanoutResult) float64 { return perJoiner(f.presence, f.stormJoined) }, bytes, "flat: linear", false},
		{"bytes per event received", func(f *fanoutResult) float64 { return perJoiner(f.eventBytes, int(f.deliveries)) }, bytes, "", false},
		{"events per frame received (batching when behind)", func(f *fanoutResult) float64 { return perJoiner(f.deliveries, int(f.fanFrames)) }, two, "", false},
		{"deliveries", func(f *fanoutResult) float64 { return float64(f.deliveries) }, num, "", true},
		{"deliveries missing", func(f *fanoutResult) float64 { return float64(f.missing) }, num, "0", true},
		{"deliveries out of order or repeated", func(f *fanoutResult) float64 { return float64(f.disorder) }, num, "0", true},
	}
	for _, m := range list {
		cells := []string{m.name}
		vals := make([]float64, len(r.fanout))
		ok := make([]bool, len(r.fanout))
		for i, runs := range r.fanout {
			vals[i], ok[i] = combine(runs, m.val, m.sum)
			if !ok[i] {
				cells = append(cells, "failed")
				continue
			}
			cells = append(cells, m.unit(vals[i]))
		}
		if ratio {
			a, b := vals[0], vals[1]
			q := "–"
			lost := strings.HasPrefix(m.name, "latency") && (a >= float64(undelivered)/1e3 || b >= float64(undelivered)/1e3)
			if !lost && ok[0] && ok[1] && b != 0 && (strings.HasPrefix(m.goal, "≤ 0") || strings.HasPrefix(m.goal, "≤ 1") || m.name == "latency p50") {
				q = fmt.Sprintf("%.2f", a/b)
			}
			cells = append(cells, q, m.goal)
		}
		row(cells...)
	}
	if cr := r.commits; cr != nil {
		fmt.Fprintf(w, "\n### Hot-room commit rate on PostgreSQL 15 (%v each)\n\n", cr.window)
		if cr.err != nil {
			fmt.Fprintf(w, "failed: %v\n", cr.err)
		} else {
			fmt.Fprintln(w, "| | bids committed a second | bids |")
			fmt.Fprintln(w, "|---|---|---|")
			fmt.Fprintf(w, "| hotrow: %d sockets bidding in one auction | %.0f | %d |\n", c.Bidders, cr.hub, cr.hubN)
			fmt.Fprintf(w, "| raw SQL: the same transaction, one connection, no hub | %.0f | %d |\n", cr.raw, cr.rawN)
			fmt.Fprintf(w, "| hotrow ÷ raw | %.2f | |\n", cr.hub/cr.raw)
		}
	}
	for _, runs := range r.fanout {
		for i, f := range runs {
			if f.err != nil {
				fmt.Fprintf(w, "\n%s failed (run %d): %v\n", f.target, i+1, f.err)
			}
		}
	}
}

// combine is one server's figure for a measure over its runs: the median,
// or the sum for a count. A run that failed makes the figure fail: a
// median of the runs that happened to succeed would flatter the server.
func combine(runs []*fanoutResult, val func(*fanoutResult) float64, sum bool) (float64, bool) {
	vs := make([]float64, 0, len(runs))
	for _, f := range runs {
		if f.err != nil {
			return 0, false
		}
		vs = append(vs, val(f))
	}
	if len(vs) == 0 {
		return 0, false
	}
	if sum {
		t := 0.0
		for _, v := range vs {
			t += v
		}
		return t, true
	}
	slices.Sort(vs)
	if n := len(vs); n%2 == 0 {
		return (vs[n/2-1] + vs[n/2]) / 2, true
	}
	return vs[len(vs)/2], true
}

func runsText(n int) string {
	if n == 1 {
		return "one run each"
	}
	return fmt.Sprintf("median of %d runs each", n)
}

func perJoiner(b int64, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(b) / float64(n)
}
