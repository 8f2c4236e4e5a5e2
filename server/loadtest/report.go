package loadtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Report is what a load test found.
type Report struct {
	Auction       string
	Hubs, Bidders int
	Sent          int
	Accepted      int
	Rejected      int
	RejectReasons map[string]int
	Resends       int
	ResendsOK     bool
	TotalAttempts int
	MaxAttempts   int
	FinalVersion  int64
	BidPhase      time.Duration
	Took          time.Duration
	Reconnects    int      // sockets dialled again after a drop (with Reconnect)
	Rejoins       int      // re-joins after a drop that succeeded (with Reconnect)
	Unavailable   int      // bids answered unavailable and sent again (with Reconnect)
	HubsDown      []string // hubs that did not answer at the end
	Checks        []Check
}

// Check is one invariant and whether it held.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// OK reports whether every check held.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Failed lists the checks that did not hold.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

func (r *Report) add(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// check evaluates every invariant.
func (r *Report) check(acks []ack, final []hubState, bids []bidRow, clients []*client, problems []string) {
	r.add("every bid answered", len(problems) == 0, "%s", summarize(problems))

	// Accepted bids in version order: amounts strictly rise, versions unique.
	sort.Slice(acks, func(i, j int) bool { return acks[i].version < acks[j].version })
	rising, unique := true, true
	for i := 1; i < len(acks); i++ {
		if acks[i].version == acks[i-1].version {
			unique = false
		}
		if acks[i].amount <= acks[i-1].amount {
			rising = false
		}
	}
	for _, a := range acks {
		r.TotalAttempts += a.attempts
		if a.attempts > r.MaxAttempts {
			r.MaxAttempts = a.attempts
		}
	}
	r.add("two bids never both win a version", unique, "%d accepted bids, each its own version", len(acks))
	r.add("accepted amounts strictly rise", rising, "in version order")

	// Bid rows == accepted acks.
	rowsMatch := len(bids) == len(acks)
	if rowsMatch {
		for i := range bids {
			if bids[i].Version != acks[i].version || mustCents(bids[i].Amount) != acks[i].amount || bids[i].Bidder != acks[i].user {
				rowsMatch = false
				break
			}
		}
	}
	r.add("bid rows == accepted acks", rowsMatch, "%d rows, %d acks", len(bids), len(acks))

	// Final state on every hub.
	var top *ack
	if len(acks) > 0 {
		top = &acks[len(acks)-1]
	}
	for _, h := range final {
		st := h.state
		var ok bool
		var detail string
		if top == nil {
			ok = st.Winner == nil && st.FinalPrice == nil && st.Status == "ended"
			detail = "no accepted bids, no winner"
		} else {
			ok = st.Status == "ended" && st.Winner != nil && *st.Winner == top.user &&
				st.FinalPrice != nil && mustCents(*st.FinalPrice) == top.amount
			detail = fmt.Sprintf("status %s, winner %s at %s; top accepted bid %s by %s", st.Status,
				deref(st.Winner), deref(st.FinalPrice), formatCents(top.amount), top.user)
		}
		r.add("one winner, the top bidder, at the top price ("+h.url+")", ok, "%s", detail)
	}

	// Clients whose socket dropped re-joined a hub with since, and got the
	// events they missed rather than a state with a hole before it.
	recoveredAll := true
	var detailRejoin string
	var slowest time.Duration
	for _, c := range clients {
		c.mu.Lock()
		for _, rj := range c.rejoins {
			r.Rejoins++
			slowest = max(slowest, rj.took)
			if !rj.recovered && rj.version != rj.since && recoveredAll {
				recoveredAll = false
				detailRejoin = fmt.Sprintf("%s re-joined %s with since %d and got a full state at %d", c.user, rj.to, rj.since, rj.version)
			}
		}
		for _, e := range c.errors {
			if strings.HasPrefix(e, "could not reconnect") && recoveredAll {
				recoveredAll, detailRejoin = false, c.user+": "+e
			}
		}
		c.mu.Unlock()
	}
	if r.Reconnects > 0 || len(r.HubsDown) > 0 {
		r.add("sockets that lost their hub re-joined one with since", recoveredAll, "%s",
			or(detailRejoin, fmt.Sprintf("%d re-joins, each recovered (slowest %s); hubs down at the end: %v", r.Rejoins, slowest.Round(time.Millisecond), r.HubsDown)))
	}

	// What every client saw: each segment of its history (from a joined
	// frame with the full state) gapless, and none starting before the
	// previous one ended.
	var ref []seenEvent
	var refUser string
	var refEnd int64
	haveRef := false
	same, gapless, neverDown := true, true, true
	var detailSame, detailGap, detailDown string
	for _, c := range clients {
		segs := c.history()
		var evs []seenEvent
		var end int64 // the newest version the client holds
		for k, sg := range segs {
			if k > 0 && sg.joinedAt < end && gapless {
				gapless = false
				detailGap = fmt.Sprintf("%s re-joined at version %d after it had seen %d", c.user, sg.joinedAt, end)
			}
			end = sg.joinedAt
			for i, ev := range sg.events {
				if want := sg.joinedAt + int64(i) + 1; ev.Version != want && gapless {
					gapless = false
					detailGap = fmt.Sprintf("%s got version %d where %d was due", c.user, ev.Version, want)
				}
				end = ev.Version
			}
			evs = append(evs, sg.events...)
		}
		price := int64(-1)
		for _, ev := range evs {
			if ev.Price >= 0 {
				if ev.Price < price && neverDown {
					neverDown = false
					detailDown = fmt.Sprintf("%s saw %s after %s", c.user, formatCents(ev.Price), formatCents(price))
				}
				price = ev.Price
			}
		}
		r.FinalVersion = max(r.FinalVersion, end)
		// Compare every client's history with the first one's.
		if !haveRef {
			ref, refUser, refEnd, haveRef = evs, c.user, end, true
			continue
		}
		if !sameTail(ref, refEnd, evs, end) && same {
			same = false
			detailSame = fmt.Sprintf("%s and %s disagree", refUser, c.user)
		}
	}
	r.add("every client saw a gapless sequence of versions, none twice", gapless, "%s", or(detailGap, fmt.Sprintf("%d clients, up to version %d", len(clients), r.FinalVersion)))
	r.add("no client saw the price go down", neverDown, "%s", or(detailDown, "checked every event's state"))
	r.add("every client saw the same history", same, "%s", or(detailSame, "same versions, kinds and data"))
	r.add("a resent bid id gets the same ack", r.ResendsOK, "%d resends", r.Resends)
}

// sameTail reports whether two clients, holding events a and b and the
// newest versions aEnd and bEnd (a client that joined last, with no event
// since, holds the version it joined at), agree on every version both hold
// and end at the same version.
func sameTail(a []seenEvent, aEnd int64, b []seenEvent, bEnd int64) bool {
	if aEnd != bEnd {
		return false
	}
	byVersion := make(map[int64]seenEvent, len(a))
	for _, e := range a {
		byVersion[e.Version] = e
	}
	for _, e := range b {
		if o, ok := byVersion[e.Version]; ok && (o.Kind != e.Kind || o.Data != e.Data) {
			return false
		}
	}
	return true
}

func summarize(p []string) string {
	if len(p) == 0 {
		return "every bid got an ack or a reject"
	}
	if len(p) > 3 {
		return strings.Join(p[:3], "; ") + fmt.Sprintf("; and %d more", len(p)-3)
	}
	return strings.Join(p, "; ")
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Print writes the table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nauction %s: %d bidders on %d hub(s), %d bids sent, %d accepted, %d rejected %v\n",
		r.Auction, r.Bidders, r.Hubs, r.Sent, r.Accepted, r.Rejected, r.RejectReasons)
	perMsg := 0.0
	if r.Accepted > 0 {
		perMsg = float64(r.TotalAttempts) / float64(r.Accepted)
	}
	fmt.Fprintf(w, "attempts: %d total for %d accepted bids (%.2f per bid), max %d; bidding took %s, the run %s\n",
		r.TotalAttempts, r.Accepted, perMsg, r.MaxAttempts, r.BidPhase.Round(time.Millisecond), r.Took.Round(time.Millisecond))
	fmt.Fprintf(w, "sockets dialled again after a drop: %d, re-joined: %d; bids answered unavailable and sent again: %d; hubs down at the end: %v\n\n",
		r.Reconnects, r.Rejoins, r.Unavailable, r.HubsDown)
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.Name))
	}
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s  %-*s  %s\n", mark, width, c.Name, c.Detail)
	}
	if r.OK() {
		fmt.Fprintln(w, "\nevery invariant holds")
	} else {
		fmt.Fprintf(w, "\n%d invariant(s) violated\n", len(r.Failed()))
	}
}
