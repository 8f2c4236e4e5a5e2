package rooms

import (
	"log/slog"

	"hotrow/internal/clock"
	"hotrow/internal/randid"
	"hotrow/txn"
)

// Deps are what every room kind's engine and service share. Zero fields
// take the defaults (see WithDefaults).
type Deps struct {
	// Runner runs each message as a retried transaction.
	Runner *txn.Runner
	Clock  clock.Clock
	Logger *slog.Logger
	// NewID makes ids of new rooms and entities; default RandomID.
	NewID func() string
	// IDs sizes what each room keeps in memory of its message ids.
	IDs IDConfig
}

// RandomID returns 16 random characters of [a-z0-9].
func RandomID() string { return randid.New(16) }

// WithDefaults returns d with its zero fields set: a default Runner, the
// real clock, slog.Default(), RandomID and IDConfig's defaults.
func (d Deps) WithDefaults() Deps {
	if d.Runner == nil {
		d.Runner = &txn.Runner{}
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.NewID == nil {
		d.NewID = RandomID
	}
	d.IDs = d.IDs.WithDefaults()
	return d
}
