package rooms

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"hotrow/txn"
)

// AppliedRecord is one stored idempotency record with its key.
type AppliedRecord struct {
	User, ID string
	Applied
}

// AppliedStore is what every room kind's store offers for idempotency
// outside a transaction. No method reads a room's records whole: a hub
// reads the stored summary and the records after it, and settles any older
// id with one indexed point read.
type AppliedStore interface {
	// FindApplied reads one idempotency record: one indexed point read.
	AppliedFinder
	// AppliedAfter returns up to limit records of room with
	// after < version <= upto, oldest first (an index on (room, version);
	// a room has at most one record per version).
	AppliedAfter(ctx context.Context, room string, after, upto int64, limit int) ([]AppliedRecord, error)
	// Summaries returns the room's stored summary segments, by Seg. The
	// filters returned are the caller's to keep and change.
	Summaries(ctx context.Context, room string) ([]SummaryRow, error)
	// SaveSummary stores a segment: it inserts it, or replaces the stored
	// one with the same Seg, From and End when that covers fewer versions;
	// otherwise it does nothing. Hubs racing to save the same segment all
	// succeed or fail harmlessly (a conflict is not worth retrying).
	SaveSummary(ctx context.Context, room string, r SummaryRow) error
}

// appliedPage is how many records one read returns: small enough for any
// database's per-query memory (DSQL: 128 MiB), large enough to be few.
const appliedPage = 2000

// LoadAppliedIDs reads what a hub keeps in memory of a room's ids when it
// loads the room at version: the stored summary, then the records after
// its cover (fewer than 2*Step of them when hubs keep it up to date), which
// start the window. A room whose summary is missing or behind (a database
// from before summaries, or hubs that died before storing it) has its
// older records streamed into the summary, page by page, never into a map,
// and the summary stored for the next load.
func LoadAppliedIDs(ctx context.Context, st AppliedStore, room string, version int64, cfg IDConfig, log *slog.Logger) (AppliedIDs, error) {
	s := NewAppliedIDs(cfg)
	rows, err := st.Summaries(ctx, room)
	if err != nil {
		return s, fmt.Errorf("reading the idempotency summary of %s: %w", room, err)
	}
	sum, bad := restoreSummary(s.cfg, rows)
	if bad != nil && log != nil {
		log.Warn("idempotency summary partly unusable; reading its versions' ids from the records", "room", room, "err", bad)
	}
	s.sum = sum
	s.newest, s.evicted = version, min(s.sum.cover, version)
	if behind := s.cfg.target(version) - s.sum.cover; behind > catchUpAlone*s.cfg.Step {
		// Once per room (its next load finds the summary stored): reading
		// this many records takes longer than a load is given, and stopping
		// early only means doing it again.
		if log != nil {
			log.Info("idempotency summary missing or behind: building it from the room's records, once", "room", room, "versions", behind)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), catchUpTimeout)
		defer cancel()
	}
	if err := s.scan(ctx, st, room, version, s.cfg.target(version), log); err != nil {
		return s, err
	}
	s.sum.fit(s.cfg.Budget)
	return s, nil
}

// A load that finds its summary more than catchUpAlone steps behind builds
// it within catchUpTimeout rather than the load's own deadline.
const (
	catchUpAlone   = 16
	catchUpTimeout = 10 * time.Minute
)

// SummarizeApplied brings the stored summary of room, at version, up to
// date without keeping anything: what `hotrow compact` does for each room so
// that the next load reads a few thousand records at most. It returns the
// version the stored summary covers.
func SummarizeApplied(ctx context.Context, st AppliedStore, room string, version int64, cfg IDConfig, log *slog.Logger) (int64, error) {
	cfg = cfg.WithDefaults()
	rows, err := st.Summaries(ctx, room)
	if err != nil {
		return 0, fmt.Errorf("reading the idempotency summary of %s: %w", room, err)
	}
	sum, bad := restoreSummary(cfg, rows)
	if bad != nil && log != nil {
		log.Warn("idempotency summary partly unusable; rebuilding it from the records", "room", room, "err", bad)
	}
	s := AppliedIDs{cfg: cfg, sum: sum}
	t := cfg.target(version)
	if err := s.scan(ctx, st, room, t, t, log); err != nil {
		return s.sum.cover, err
	}
	return s.storedCover(), nil
}

// scan reads the records after the summary's cover up to upto: those up to
// target go into the summary, and the newest Window of them into the window
// too. The summary's cover moves as pages complete, so a scan cut short
// keeps what it did, and every segment it fills is stored. Only a failed
// read is an error: a failed save costs the next load some reading, nothing
// else.
func (s *AppliedIDs) scan(ctx context.Context, st AppliedStore, room string, upto, target int64, log *slog.Logger) error {
	after := s.sum.cover
	for after < upto {
		recs, err := st.AppliedAfter(ctx, room, after, upto, appliedPage)
		if err != nil {
			return fmt.Errorf("reading the idempotency records of %s after version %d: %w", room, after, err)
		}
		for _, r := range recs {
			if r.Version <= target {
				s.sum.add(r.Version, hashKey(AppliedKey(r.User, r.ID)))
			}
			s.Record(r.User, r.ID, r.Applied)
		}
		done := upto
		if len(recs) == appliedPage {
			done = recs[len(recs)-1].Version
		}
		s.sum.advance(min(done, target))
		if done < upto {
			s.store(ctx, st, room, true, log) // sealed segments, so a long catch-up is not lost
		}
		after = done
	}
	s.store(ctx, st, room, false, log)
	return nil
}

// store saves the segments that cover more than is stored (with
// sealedOnly, only the full ones).
func (s *AppliedIDs) store(ctx context.Context, st AppliedStore, room string, sealedOnly bool, log *slog.Logger) {
	for _, r := range s.sum.unstored() {
		if sealedOnly && r.Covered < r.End {
			continue
		}
		err := st.SaveSummary(ctx, room, r)
		switch {
		case err == nil:
			s.sum.markStored(r)
		case txn.Classify(err).Class == txn.Retry:
			// Another hub saved the same segment at the same moment: what
			// it stored is as good. The next step saves again if needed.
			if log != nil {
				log.Debug("idempotency summary saved by another hub meanwhile", "room", room, "segment", r.Seg)
			}
		default:
			if log != nil {
				log.Warn("storing the idempotency summary failed; the next load reads more records", "room", room, "segment", r.Seg, "err", err)
			}
			return
		}
	}
}

// storedCover is the version up to which the stored segments, as far as
// this hub knows, hold every id.
func (s *AppliedIDs) storedCover() int64 {
	var c int64
	for _, sg := range s.sum.segs {
		if sg.stored <= sg.from {
			break
		}
		c = sg.stored
		if sg.stored < sg.end {
			break
		}
	}
	return c
}

// upkeepDue reports whether the summary should move forward now that the
// room is at version known.
func (s *AppliedIDs) upkeepDue(known int64) bool {
	return s.cfg.target(known)-s.sum.cover >= s.cfg.Step && known >= s.retryAt
}

// upkeep moves the summary forward to the target for version known (one
// range read of about Step records, one save) and drops from the window the
// ids older than Window versions.
func (s *AppliedIDs) upkeep(ctx context.Context, st AppliedStore, room string, known int64, log *slog.Logger) error {
	t := s.cfg.target(known)
	err := s.scan(ctx, st, room, t, t, log)
	s.evict(known - s.cfg.Window)
	s.sum.fit(s.cfg.Budget)
	if err != nil {
		s.retryAt = known + max(1, s.cfg.Step/4)
	}
	return err
}
