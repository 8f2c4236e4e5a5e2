package auction

import (
	"errors"
	"hotrow/rooms"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestBuildDefaults(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	a, err := CreateRequest{Title: "  Lamp  ", StartingPrice: "100", Increment: "5.5"}.Build(now, func() string { return "gen1" })
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "gen1" || a.Title != "Lamp" || a.StartingPrice != 10000 || a.Increment != 550 {
		t.Fatalf("built %+v", a)
	}
	wantStart := now.UTC().Truncate(time.Microsecond)
	if !a.StartsAt.Equal(wantStart) || !a.CreatedAt.Equal(wantStart) {
		t.Fatalf("starts_at %s created_at %s, want now %s", a.StartsAt, a.CreatedAt, wantStart)
	}
	if !a.EndsAt.Equal(wantStart.Add(DefaultDuration)) {
		t.Fatalf("ends_at %s, want now+%s", a.EndsAt, DefaultDuration)
	}
	if a.StartsAt.Location() != time.UTC || a.EndsAt.Location() != time.UTC {
		t.Fatal("times are not UTC")
	}
	if a.AntiSnipeWindow != DefaultAntiSnipeWindow || a.AntiSnipeExtend != DefaultAntiSnipeExtend {
		t.Fatalf("anti-snipe %s/%s", a.AntiSnipeWindow, a.AntiSnipeExtend)
	}
	if a.Closed || a.Bids != 0 || a.Status(now) != StatusLive {
		t.Fatalf("new auction: %+v", a)
	}

	// Explicit values are kept; the given id is used and newID not called.
	start := now.Add(time.Hour)
	b, err := CreateRequest{ID: "my-auction_1", Title: "x", StartingPrice: "0.01", Increment: "0.01",
		StartsAt: &start, DurationS: ptr(90), AntiSnipeWindowS: ptr(0), AntiSnipeExtendS: ptr(60)}.
		Build(now, func() string { t.Fatal("newID called although an id was given"); return "" })
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != "my-auction_1" || !b.EndsAt.Equal(start.UTC().Truncate(time.Microsecond).Add(90*time.Second)) ||
		b.AntiSnipeWindow != 0 || b.AntiSnipeExtend != time.Minute {
		t.Fatalf("built %+v", b)
	}
	if b.Status(now) != StatusScheduled {
		t.Fatalf("status %s, want scheduled", b.Status(now))
	}
	end := now.Add(10 * time.Minute)
	c, err := CreateRequest{Title: "x", StartingPrice: "1", Increment: "1", EndsAt: &end}.Build(now, func() string { return "g" })
	if err != nil {
		t.Fatal(err)
	}
	if !c.EndsAt.Equal(end.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("ends_at %s, want %s", c.EndsAt, end)
	}
}

func TestBuildRejects(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ok := func() CreateRequest { return CreateRequest{Title: "Lamp", StartingPrice: "100.00", Increment: "5.00"} }
	past, future, farFuture := now.Add(-time.Second), now.Add(time.Hour), now.Add(MaxDuration+time.Second)
	for _, tc := range []struct {
		name  string
		edit  func(r *CreateRequest)
		field string
		word  string
	}{
		{"bad id", func(r *CreateRequest) { r.ID = "a b" }, "id", ""},
		{"id with colon", func(r *CreateRequest) { r.ID = "auction:x" }, "id", ""},
		{"id too long", func(r *CreateRequest) { r.ID = strings.Repeat("a", 65) }, "id", ""},
		{"empty title", func(r *CreateRequest) { r.Title = "" }, "title", "required"},
		{"blank title", func(r *CreateRequest) { r.Title = " \t\n" }, "title", "required"},
		{"long title", func(r *CreateRequest) { r.Title = strings.Repeat("é", 201) }, "title", "200"},
		{"invalid utf-8 title", func(r *CreateRequest) { r.Title = "a\xffb" }, "title", "UTF-8"},
		{"NUL in the title", func(r *CreateRequest) { r.Title = "a\x00b" }, "title", "control"},
		{"newline in the title", func(r *CreateRequest) { r.Title = "two\nlines" }, "title", "control"},
		{"C1 control in the title", func(r *CreateRequest) { r.Title = "a\u0085b" }, "title", "control"},
		{"missing starting price", func(r *CreateRequest) { r.StartingPrice = "" }, "starting_price", "empty"},
		{"starting price three decimals", func(r *CreateRequest) { r.StartingPrice = "1.001" }, "starting_price", "two decimals"},
		{"starting price zero", func(r *CreateRequest) { r.StartingPrice = "0.00" }, "starting_price", "0.01"},
		{"starting price negative", func(r *CreateRequest) { r.StartingPrice = "-5" }, "starting_price", "signs"},
		{"starting price over max", func(r *CreateRequest) { r.StartingPrice = "1000000000.01" }, "starting_price", "maximum"},
		{"missing increment", func(r *CreateRequest) { r.Increment = "" }, "increment", "empty"},
		{"increment zero", func(r *CreateRequest) { r.Increment = "0" }, "increment", "0.01"},
		{"increment exponent", func(r *CreateRequest) { r.Increment = "1e2" }, "increment", "exponents"},
		{"ends_at and duration_s", func(r *CreateRequest) { r.EndsAt, r.DurationS = &future, ptr(60) }, "ends_at", "not both"},
		{"ends_at in the past", func(r *CreateRequest) { r.EndsAt = &past }, "ends_at", ""},
		{"ends_at now", func(r *CreateRequest) { r.EndsAt = &now }, "ends_at", ""},
		{"ends_at before starts_at", func(r *CreateRequest) {
			s, e := now.Add(2*time.Hour), now.Add(time.Hour)
			r.StartsAt, r.EndsAt = &s, &e
		}, "ends_at", "after starts_at"},
		{"ends_at too far", func(r *CreateRequest) { r.EndsAt = &farFuture }, "ends_at", "within"},
		{"duration zero", func(r *CreateRequest) { r.DurationS = ptr(0) }, "duration_s", "positive"},
		{"duration negative", func(r *CreateRequest) { r.DurationS = ptr(-5) }, "duration_s", "positive"},
		{"duration too long", func(r *CreateRequest) { r.DurationS = ptr(int(MaxDuration/time.Second) + 1) }, "duration_s", ""},
		// 18446744074 s is 2^64 ns + 0.29 s: it must not wrap into a
		// 0.29-second auction.
		{"duration overflowing time.Duration", func(r *CreateRequest) { r.DurationS = ptr(18446744074) }, "duration_s", ""},
		{"huge duration", func(r *CreateRequest) { r.DurationS = ptr(1 << 62) }, "duration_s", ""},
		{"anti-snipe window negative", func(r *CreateRequest) { r.AntiSnipeWindowS = ptr(-1) }, "anti_snipe_window_s", ""},
		{"anti-snipe window too long", func(r *CreateRequest) { r.AntiSnipeWindowS = ptr(86401) }, "anti_snipe_window_s", ""},
		{"anti-snipe extend negative", func(r *CreateRequest) { r.AntiSnipeExtendS = ptr(-1) }, "anti_snipe_extend_s", ""},
		{"anti-snipe extend too long", func(r *CreateRequest) { r.AntiSnipeExtendS = ptr(1 << 40) }, "anti_snipe_extend_s", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok()
			tc.edit(&r)
			a, err := r.Build(now, func() string { return "gen" })
			if err == nil {
				t.Fatalf("accepted: %+v (ends in %s)", a, a.EndsAt.Sub(now))
			}
			var fe *rooms.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FieldError", err)
			}
			if fe.Field != tc.field {
				t.Fatalf("error names field %q, want %q: %v", fe.Field, tc.field, err)
			}
			if !strings.HasPrefix(err.Error(), tc.field+": ") {
				t.Fatalf("message %q does not start with the field", err)
			}
			if !strings.Contains(fe.Message, tc.word) {
				t.Fatalf("message %q does not mention %q", fe.Message, tc.word)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "A-z_09": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "a b": false, "a:b": false, "a/b": false, "é": false,
	} {
		if got := rooms.ValidID(id); got != want {
			t.Errorf("rooms.ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}
