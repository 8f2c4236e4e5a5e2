package auction

import (
	"strings"
	"time"
	"unicode/utf8"

	"hotrow/internal/textutil"
	"hotrow/rooms"
)

// CreateRequest is the body of POST /api/auctions.
type CreateRequest struct {
	ID               string     `json:"id,omitempty"`
	Title            string     `json:"title"`
	StartingPrice    string     `json:"starting_price"`
	Increment        string     `json:"increment"`
	StartsAt         *time.Time `json:"starts_at,omitempty"`
	EndsAt           *time.Time `json:"ends_at,omitempty"`
	DurationS        *int       `json:"duration_s,omitempty"`
	AntiSnipeWindowS *int       `json:"anti_snipe_window_s,omitempty"`
	AntiSnipeExtendS *int       `json:"anti_snipe_extend_s,omitempty"`
}

// Defaults for a new auction.
const (
	DefaultDuration        = 5 * time.Minute
	DefaultAntiSnipeWindow = 30 * time.Second
	DefaultAntiSnipeExtend = 30 * time.Second
	MaxDuration            = 30 * 24 * time.Hour
	maxAntiSnipe           = 24 * 60 * 60
	maxTitleRunes          = 200
)

// Build validates r and returns the new auction, created at now. newID is
// called when r has no id.
func (r CreateRequest) Build(now time.Time, newID func() string) (Auction, error) {
	a := Auction{ID: r.ID, CreatedAt: now}
	if a.ID == "" {
		a.ID = newID()
	} else if !rooms.ValidID(a.ID) {
		return a, &rooms.FieldError{Field: "id", Message: rooms.IDRule}
	}
	a.Title = strings.TrimSpace(r.Title)
	if a.Title == "" {
		return a, rooms.FieldErr("title", "is required")
	}
	if utf8.RuneCountInString(a.Title) > maxTitleRunes || !utf8.ValidString(a.Title) {
		return a, rooms.FieldErr("title", "must be valid UTF-8 of at most %d characters", maxTitleRunes)
	}
	if textutil.HasControl(a.Title) {
		return a, rooms.FieldErr("title", "must not contain control characters (a title is one line of text)")
	}
	var err error
	if a.StartingPrice, err = ParseCents(r.StartingPrice); err != nil {
		return a, rooms.FieldErr("starting_price", "%s", err)
	}
	if a.StartingPrice <= 0 {
		return a, rooms.FieldErr("starting_price", "must be at least 0.01")
	}
	if a.Increment, err = ParseCents(r.Increment); err != nil {
		return a, rooms.FieldErr("increment", "%s", err)
	}
	if a.Increment <= 0 {
		return a, rooms.FieldErr("increment", "must be at least 0.01")
	}
	a.StartsAt = now
	if r.StartsAt != nil {
		a.StartsAt = *r.StartsAt
	}
	switch {
	case r.EndsAt != nil && r.DurationS != nil:
		return a, rooms.FieldErr("ends_at", "give ends_at or duration_s, not both")
	case r.EndsAt != nil:
		a.EndsAt = *r.EndsAt
	case r.DurationS != nil:
		if *r.DurationS <= 0 {
			return a, rooms.FieldErr("duration_s", "must be positive")
		}
		// Checked before the multiplication: a huge duration_s would wrap
		// time.Duration around into a short (or negative) duration.
		if maxS := int64(MaxDuration / time.Second); int64(*r.DurationS) > maxS {
			return a, rooms.FieldErr("duration_s", "must be at most %d (%s)", maxS, MaxDuration)
		}
		a.EndsAt = a.StartsAt.Add(time.Duration(*r.DurationS) * time.Second)
	default:
		a.EndsAt = a.StartsAt.Add(DefaultDuration)
	}
	if !a.EndsAt.After(a.StartsAt) {
		return a, rooms.FieldErr("ends_at", "must be after starts_at")
	}
	if !a.EndsAt.After(now) {
		return a, rooms.FieldErr("ends_at", "must be in the future")
	}
	if a.EndsAt.Sub(now) > MaxDuration {
		return a, rooms.FieldErr("ends_at", "must be within %s from now", MaxDuration)
	}
	a.AntiSnipeWindow, a.AntiSnipeExtend = DefaultAntiSnipeWindow, DefaultAntiSnipeExtend
	if r.AntiSnipeWindowS != nil {
		if *r.AntiSnipeWindowS < 0 || *r.AntiSnipeWindowS > maxAntiSnipe {
			return a, rooms.FieldErr("anti_snipe_window_s", "must be 0-%d", maxAntiSnipe)
		}
		a.AntiSnipeWindow = time.Duration(*r.AntiSnipeWindowS) * time.Second
	}
	if r.AntiSnipeExtendS != nil {
		if *r.AntiSnipeExtendS < 0 || *r.AntiSnipeExtendS > maxAntiSnipe {
			return a, rooms.FieldErr("anti_snipe_extend_s", "must be 0-%d", maxAntiSnipe)
		}
		a.AntiSnipeExtend = time.Duration(*r.AntiSnipeExtendS) * time.Second
	}
	// Store times at microsecond precision, as PostgreSQL does, so that the
	// state a hub caches equals the state it reads back.
	a.StartsAt = a.StartsAt.UTC().Truncate(time.Microsecond)
	a.EndsAt = a.EndsAt.UTC().Truncate(time.Microsecond)
	a.CreatedAt = a.CreatedAt.UTC().Truncate(time.Microsecond)
	return a, nil
}
