package auction

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// live is an auction that started at t0 and ends at t0+5m, with a 30s
// anti-snipe window extending to now+30s, starting at 100.00 by 5.00.
func live() Auction {
	return Auction{
		ID: "a1", Title: "Lamp",
		StartingPrice: 10000, Increment: 500,
		StartsAt: t0, EndsAt: t0.Add(5 * time.Minute),
		AntiSnipeWindow: 30 * time.Second, AntiSnipeExtend: 30 * time.Second,
		CreatedAt: t0,
	}
}

func withBid(a Auction, amount Cents, who string) Auction {
	a.CurrentBid, a.Leader, a.Bids = amount, who, a.Bids+1
	return a
}

func TestMinNextBid(t *testing.T) {
	a := live()
	if got := a.MinNextBid(); got != 10000 {
		t.Fatalf("first bid minimum = %s, want the starting price 100.00", got)
	}
	a = withBid(a, 12000, "bob")
	if got := a.MinNextBid(); got != 12500 {
		t.Fatalf("minimum after 120.00 = %s, want 125.00", got)
	}
}

func TestPlaceBid(t *testing.T) {
	now := t0.Add(time.Minute)
	for _, tc := range []struct {
		name   string
		a      Auction
		amount Cents
		now    time.Time
		reason string // "" = accepted
		min    Cents  // for bid_too_low
	}{
		{"first bid at starting price", live(), 10000, now, "", 0},
		{"first bid above starting price", live(), 10001, now, "", 0},
		{"first bid below starting price", live(), 9999, now, ReasonBidTooLow, 10000},
		{"later bid at current+increment", withBid(live(), 12000, "bob"), 12500, now, "", 0},
		{"later bid above", withBid(live(), 12000, "bob"), 99900, now, "", 0},
		{"later bid one cent short", withBid(live(), 12000, "bob"), 12499, now, ReasonBidTooLow, 12500},
		{"later bid equal to current", withBid(live(), 12000, "bob"), 12000, now, ReasonBidTooLow, 12500},
		{"before starts_at", live(), 10000, t0.Add(-time.Microsecond), ReasonNotStarted, 0},
		{"exactly at starts_at", live(), 10000, t0, "", 0},
		{"one microsecond before ends_at", live(), 10000, t0.Add(5*time.Minute - time.Microsecond), "", 0},
		{"exactly at ends_at", live(), 10000, t0.Add(5 * time.Minute), ReasonEnded, 0},
		{"after ends_at", live(), 10000, t0.Add(time.Hour), ReasonEnded, 0},
		{"closed before ends_at", func() Auction { a := live(); a.Closed = true; return a }(), 10000, now, ReasonEnded, 0},
		{"zero amount", live(), 0, now, ReasonInvalidAmount, 0},
		{"negative amount", live(), -100, now, ReasonInvalidAmount, 0},
		{"over the maximum", live(), MaxCents + 1, now, ReasonInvalidAmount, 0},
		{"at the maximum", live(), MaxCents, now, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.a
			got, rej := tc.a.PlaceBid(tc.amount, "carol", tc.now)
			if tc.reason == "" {
				if rej != nil {
					t.Fatalf("rejected %v, want accepted", rej)
				}
				if got.CurrentBid != tc.amount || got.Leader != "carol" || got.Bids != before.Bids+1 {
					t.Fatalf("after bid: current %s leader %q bids %d", got.CurrentBid, got.Leader, got.Bids)
				}
				if got.CurrentBid <= before.CurrentBid && before.Bids > 0 {
					t.Fatalf("price went down: %s → %s", before.CurrentBid, got.CurrentBid)
				}
				if chk := tc.a.CheckBid(tc.amount, tc.now); chk != nil {
					t.Fatalf("CheckBid disagrees with PlaceBid: %v", chk)
				}
				return
			}
			if rej == nil {
				t.Fatalf("accepted, want %s", tc.reason)
			}
			if rej.Reason != tc.reason || rej.RejectReason() != tc.reason {
				t.Fatalf("reason %q, want %q (%s)", rej.Reason, tc.reason, rej.Message)
			}
			if rej.Message == "" {
				t.Fatal("rejection has no message")
			}
			if !reflect.DeepEqual(got, before) {
				t.Fatalf("a rejected bid changed the auction: %+v", got)
			}
			if tc.reason == ReasonBidTooLow {
				if rej.Min != tc.min.String() {
					t.Fatalf("bid_too_low Min = %q, want %s", rej.Min, tc.min)
				}
			} else if rej.Min != "" {
				t.Fatalf("%s carries Min %s", rej.Reason, rej.Min)
			}
		})
	}
}

func TestAntiSnipe(t *testing.T) {
	end := t0.Add(5 * time.Minute)
	for _, tc := range []struct {
		name           string
		window, extend time.Duration
		at             time.Time
		wantEnd        time.Time
	}{
		{"well before the window", 30 * time.Second, 30 * time.Second, end.Add(-time.Minute), end},
		{"exactly window before the end: no extension", 30 * time.Second, 30 * time.Second, end.Add(-30 * time.Second), end},
		{"just inside the window", 30 * time.Second, 30 * time.Second, end.Add(-30*time.Second + time.Microsecond), end.Add(time.Microsecond)},
		{"last microsecond", 30 * time.Second, 30 * time.Second, end.Add(-time.Microsecond), end.Add(30*time.Second - time.Microsecond)},
		{"extend longer than the window", 30 * time.Second, 2 * time.Minute, end.Add(-10 * time.Second), end.Add(110 * time.Second)},
		{"extend shorter than remaining never shortens", 60 * time.Second, 10 * time.Second, end.Add(-50 * time.Second), end},
		{"extend equal to remaining", 60 * time.Second, 50 * time.Second, end.Add(-50 * time.Second), end},
		{"extend zero never shortens", 60 * time.Second, 0, end.Add(-time.Second), end},
		{"window zero disables", 0, 30 * time.Second, end.Add(-time.Microsecond), end},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := live()
			a.AntiSnipeWindow, a.AntiSnipeExtend = tc.window, tc.extend
			got, rej := a.PlaceBid(10000, "bob", tc.at)
			if rej != nil {
				t.Fatalf("rejected: %v", rej)
			}
			if !got.EndsAt.Equal(tc.wantEnd) {
				t.Fatalf("ends_at = %s, want %s", got.EndsAt.Format(time.RFC3339Nano), tc.wantEnd.Format(time.RFC3339Nano))
			}
			if got.EndsAt.Before(a.EndsAt) {
				t.Fatal("anti-snipe moved ends_at earlier")
			}
		})
	}

	// An extended auction takes a bid after the original end, and ends at the
	// new one.
	a := live()
	a, _ = a.PlaceBid(10000, "bob", end.Add(-time.Second))
	if _, rej := a.PlaceBid(10500, "carol", end.Add(time.Second)); rej != nil {
		t.Fatalf("bid inside the extension rejected: %v", rej)
	}
	if _, rej := a.PlaceBid(10500, "carol", a.EndsAt); rej == nil || rej.Reason != ReasonEnded {
		t.Fatalf("bid at the extended end: %v, want ended", rej)
	}
}

func TestClose(t *testing.T) {
	end := t0.Add(5 * time.Minute)
	t.Run("not due before ends_at", func(t *testing.T) {
		a := live()
		if a.Due(end.Add(-time.Microsecond)) {
			t.Fatal("due before ends_at")
		}
		if _, rej := a.Close(end.Add(-time.Microsecond)); rej == nil || rej.Reason != reasonNotDue {
			t.Fatalf("close before ends_at: %v, want not_due", rej)
		}
	})
	for _, at := range []time.Time{end, end.Add(time.Hour)} {
		a := withBid(withBid(live(), 10000, "bob"), 12000, "carol")
		if !a.Due(at) {
			t.Fatalf("not due at %s", at)
		}
		c, rej := a.Close(at)
		if rej != nil {
			t.Fatalf("close at %s: %v", at, rej)
		}
		if !c.Closed || c.Winner != "carol" || c.FinalPrice != 12000 {
			t.Fatalf("closed: %+v, want carol winning at 120.00", c)
		}
		if c.Due(at) {
			t.Fatal("a closed auction is still due")
		}
		if _, rej := c.Close(at.Add(time.Second)); rej == nil || rej.Reason != reasonAlreadyClosed {
			t.Fatalf("second close: %v, want already_closed", rej)
		}
		if _, rej := c.PlaceBid(99900, "dave", at); rej == nil || rej.Reason != ReasonEnded {
			t.Fatalf("bid after close: %v, want ended", rej)
		}
	}
	t.Run("no bids: no winner", func(t *testing.T) {
		c, rej := live().Close(end)
		if rej != nil {
			t.Fatal(rej)
		}
		if !c.Closed || c.Winner != "" || c.FinalPrice != 0 {
			t.Fatalf("closed without bids: %+v", c)
		}
		s := c.StateAt(end)
		if s.Winner != nil || s.FinalPrice != nil || s.CurrentBid != nil || s.Leader != nil {
			t.Fatalf("state of an auction closed without bids: %+v", s)
		}
		b, _ := json.Marshal(s)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		for _, k := range []string{"winner", "final_price", "current_bid", "leader"} {
			if v, ok := m[k]; !ok || v != nil {
				t.Errorf("%s = %v (present %v), want null", k, v, ok)
			}
		}
	})
}

func TestStatus(t *testing.T) {
	a := live()
	a.StartsAt = t0.Add(time.Minute)
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{t0, StatusScheduled},
		{t0.Add(time.Minute - time.Microsecond), StatusScheduled},
		{t0.Add(time.Minute), StatusLive},
		{t0.Add(5*time.Minute - time.Microsecond), StatusLive},
		{t0.Add(5 * time.Minute), StatusEnded},
	} {
		if got := a.Status(tc.at); got != tc.want {
			t.Errorf("status at %s = %s, want %s", tc.at.Sub(t0), got, tc.want)
		}
		if got := a.StateAt(tc.at).Status; got != tc.want {
			t.Errorf("StateAt(%s).Status = %s, want %s", tc.at.Sub(t0), got, tc.want)
		}
	}
	c := live()
	c.Closed = true
	if got := c.Status(t0.Add(time.Minute)); got != StatusEnded {
		t.Errorf("a closed auction is %s before ends_at, want ended", got)
	}
}

func TestStateWireForm(t *testing.T) {
	a := withBid(live(), 11050, "bob")
	b, err := json.Marshal(a.StateAt(t0.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": "a1", "title": "Lamp", "status": "live",
		"starting_price": "100.00", "increment": "5.00", "current_bid": "110.50",
		"leader": "bob", "bids": 1.0, "min_next_bid": "115.50",
		"starts_at": "2025-06-01T12:00:00Z", "ends_at": "2025-06-01T12:05:00Z",
		"anti_snipe_window_s": 30.0, "anti_snipe_extend_s": 30.0,
		"winner": nil, "final_price": nil,
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("state\n got %v\nwant %v", m, want)
	}
}

func TestFromStateRoundTrip(t *testing.T) {
	end := t0.Add(5 * time.Minute)
	closedWon, _ := withBid(withBid(live(), 10000, "bob"), 12000, "carol").Close(end)
	for _, tc := range []struct {
		name string
		a    Auction
		at   time.Time
	}{
		{"fresh", live(), t0},
		{"scheduled", func() Auction { a := live(); a.StartsAt = t0.Add(time.Minute); return a }(), t0},
		{"with bids", withBid(withBid(live(), 10000, "bob"), 12000, "carol"), t0.Add(time.Minute)},
		{"closed with a winner", closedWon, end},
		{"sub-second times", func() Auction {
			a := live()
			a.EndsAt = a.EndsAt.Add(123456 * time.Microsecond)
			return a
		}(), t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Through JSON, as events carry it between hubs.
			b, err := json.Marshal(tc.a.StateAt(tc.at))
			if err != nil {
				t.Fatal(err)
			}
			var s State
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			got := FromState(s)
			want := tc.a
			want.CreatedAt = time.Time{} // not part of the wire state
			if !got.EndsAt.Equal(want.EndsAt) || !got.StartsAt.Equal(want.StartsAt) {
				t.Fatalf("times: got %s..%s want %s..%s", got.StartsAt, got.EndsAt, want.StartsAt, want.EndsAt)
			}
			got.StartsAt, got.EndsAt = want.StartsAt, want.EndsAt
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("FromState(StateAt(a))\n got %+v\nwant %+v", got, want)
			}
			if g, w := got.StateAt(tc.at), tc.a.StateAt(tc.at); !reflect.DeepEqual(g, w) {
				t.Fatalf("state changed on the round trip\n got %+v\nwant %+v", g, w)
			}
		})
	}
}
