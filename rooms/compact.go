package rooms

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Retention is what compaction keeps of each room's event log. An event is
// deleted only when it is both more than KeepEvents versions behind its
// room's newest and older than KeepFor; the events kept are always the
// newest of the room, with no gap among them.
type Retention struct {
	// KeepEvents is how many of each room's newest events are kept: a join
	// with since within this many versions (and within the hub's
	// MaxReplay) is answered with the missed events. Default 10000.
	KeepEvents int64
	// KeepFor keeps every event younger than this. Default 24h; negative
	// keeps nothing for its age.
	KeepFor time.Duration
	// Batch is the most rows one transaction deletes: at most 3,000,
	// Aurora DSQL's limit per transaction. Default 1000.
	Batch int
	// BatchBytes bounds the event bytes one transaction deletes (DSQL
	// allows 10 MiB per transaction). Default 4 MiB.
	BatchBytes int
	// IDs sizes the idempotency summaries compaction stores: the hubs'.
	IDs IDConfig
}

// MaxBatch is the most rows a transaction may change on Aurora DSQL.
const MaxBatch = 3000

func (r Retention) withDefaults() (Retention, error) {
	if r.KeepEvents == 0 {
		r.KeepEvents = 10000
	}
	if r.KeepFor == 0 {
		r.KeepFor = 24 * time.Hour
	}
	if r.Batch == 0 {
		r.Batch = 1000
	}
	if r.BatchBytes <= 0 {
		r.BatchBytes = 4 << 20
	}
	r.IDs = r.IDs.WithDefaults()
	switch {
	case r.KeepEvents < 1:
		return r, fmt.Errorf("keep-events %d: keep at least each room's newest event", r.KeepEvents)
	case r.Batch < 1 || r.Batch > MaxBatch:
		return r, fmt.Errorf("batch %d: want 1 to %d rows per transaction (Aurora DSQL's limit)", r.Batch, MaxBatch)
	}
	return r, nil
}

// RoomVersion is a room and its version.
type RoomVersion struct {
	Room    string
	Version int64
}

// EventStamp is what compaction reads of an event before deleting it.
type EventStamp struct {
	Version int64
	At      time.Time
	Bytes   int // its data and state
}

// CompactStore is what compaction needs of a store.
type CompactStore interface {
	AppliedStore
	// RoomsAfter returns up to limit rooms named after after, in name
	// order, with their versions.
	RoomsAfter(ctx context.Context, after string, limit int) ([]RoomVersion, error)
	// EventStamps returns up to limit events of room with
	// after < version <= upto, oldest first.
	EventStamps(ctx context.Context, room string, after, upto int64, limit int) ([]EventStamp, error)
	// DeleteEvents deletes, in one transaction, room's events with
	// after < version <= upto, and says how many there were.
	DeleteEvents(ctx context.Context, room string, after, upto int64) (int64, error)
}

// CompactReport is what one compaction did.
type CompactReport struct {
	Rooms         int   // rooms looked at
	EventsDeleted int64 // events deleted
	Transactions  int   // deleting transactions
	MaxBatch      int   // the most rows one of them deleted
	Summarized    int   // rooms whose stored idempotency summary moved forward
}

// Compact is the job behind `hotrow compact`, safe to run at any time,
// beside live hubs, as often as wanted, and to stop at any point (run one
// at a time: two at once may conflict, and the loser stops with an error,
// harmlessly):
//
//   - for every room it brings the stored idempotency summary up to date
//     (SummarizeApplied), so that loading the room reads a few thousand
//     records at most, whatever its history;
//   - it deletes the room's oldest events that r does not keep, oldest
//     first, at most r.Batch rows (and r.BatchBytes) per transaction, and
//     stops at the first event r keeps, so the events left are always the
//     room's newest with no gap.
//
// It never touches a room's state, its version, its idempotency records (a
// resend of any age still gets its original ack), its bids or a schema
// document's audit log: those are what the contract promises. A join with
// since older than the events kept gets the full state, as the protocol
// allows for any join further back than the replay limit.
func Compact(ctx context.Context, st CompactStore, r Retention, now time.Time, log *slog.Logger) (CompactReport, error) {
	var rep CompactReport
	r, err := r.withDefaults()
	if err != nil {
		return rep, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	after := ""
	for {
		page, err := st.RoomsAfter(ctx, after, 500)
		if err != nil {
			return rep, fmt.Errorf("listing rooms after %q: %w", after, err)
		}
		for _, rv := range page {
			if err := compactRoom(ctx, st, r, rv, now, log, &rep); err != nil {
				return rep, err
			}
			after = rv.Room
		}
		if len(page) < 500 {
			return rep, nil
		}
	}
}

func compactRoom(ctx context.Context, st CompactStore, r Retention, rv RoomVersion, now time.Time, log *slog.Logger, rep *CompactReport) error {
	rep.Rooms++
	before, err := storedCover(ctx, st, rv.Room, r.IDs)
	if err != nil {
		return err
	}
	cover, err := SummarizeApplied(ctx, st, rv.Room, rv.Version, r.IDs, log)
	if err != nil {
		return err
	}
	if cover > before {
		rep.Summarized++
	}
	cut := rv.Version - r.KeepEvents
	if cut <= 0 {
		return nil
	}
	keepAfter := now.Add(-r.KeepFor)
	var lo int64
	for {
		stamps, err := st.EventStamps(ctx, rv.Room, lo, cut, r.Batch)
		if err != nil {
			return fmt.Errorf("reading the oldest events of %s: %w", rv.Room, err)
		}
		hi, n, size, young := lo, 0, 0, false
		for _, e := range stamps {
			if r.KeepFor > 0 && !e.At.Before(keepAfter) {
				young = true
				break
			}
			if n > 0 && size+e.Bytes > r.BatchBytes {
				break
			}
			hi, n, size = e.Version, n+1, size+e.Bytes
		}
		if n == 0 {
			return nil
		}
		deleted, err := st.DeleteEvents(ctx, rv.Room, lo, hi)
		if err != nil {
			return fmt.Errorf("deleting events (%d, %d] of %s (compaction is safe to run again): %w", lo, hi, rv.Room, err)
		}
		rep.EventsDeleted += deleted
		rep.Transactions++
		rep.MaxBatch = max(rep.MaxBatch, int(deleted))
		log.Debug("compacted events", "room", rv.Room, "after", lo, "upto", hi, "deleted", deleted)
		lo = hi
		if young || n == len(stamps) && len(stamps) < r.Batch {
			return nil
		}
	}
}

// storedCover is how far the stored summary of room reaches.
func storedCover(ctx context.Context, st AppliedStore, room string, cfg IDConfig) (int64, error) {
	rows, err := st.Summaries(ctx, room)
	if err != nil {
		return 0, fmt.Errorf("reading the idempotency summary of %s: %w", room, err)
	}
	s, _ := restoreSummary(cfg, rows)
	return s.cover, nil
}
