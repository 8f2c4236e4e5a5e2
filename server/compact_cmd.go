package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"hotrow/internal/clock"
	"hotrow/rooms"
)

// compact is `hotrow compact`: for every room it stores the idempotency
// summary up to date and deletes the events older than the retention (see
// rooms.Compact), in transactions of at most -batch rows. It is safe beside
// live hubs, safe to stop, and safe to run again; state, versions, bids,
// idempotency records and schema audit logs are never touched.
func compact(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServeConfig("compact", args)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" && cfg.DSQLEndpoint == "" {
		return errors.New("compact needs DATABASE_URL or DSQL_ENDPOINT: the embedded store lives inside a running hub")
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	ret := rooms.Retention{KeepEvents: int64(cfg.KeepEvents), KeepFor: cfg.KeepFor, Batch: cfg.CompactBatch,
		IDs: rooms.IDConfig{Window: int64(cfg.IDWindow)}}
	if cfg.KeepFor <= 0 {
		ret.KeepFor = -1 // by count alone
	}
	if cfg.KeepEvents < cfg.MaxReplay {
		log.Warn("keep-events is below the hubs' max-replay: a join with since further back than keep-events gets the full state",
			"keep_events", cfg.KeepEvents, "max_replay", cfg.MaxReplay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Hour)
	defer cancel()
	st, err := openStore(ctx, cfg, log, clock.Real{})
	if err != nil {
		return err
	}
	defer st.Close()
	cs, ok := st.(rooms.CompactStore)
	if !ok {
		return fmt.Errorf("the %s store cannot be compacted", st.Name())
	}
	start := time.Now()
	rep, err := rooms.Compact(ctx, cs, ret, time.Now(), log)
	fmt.Fprintf(stdout, "compacted %d rooms: %d events deleted in %d transactions (at most %d rows each), %d summaries moved forward, in %s\n",
		rep.Rooms, rep.EventsDeleted, rep.Transactions, rep.MaxBatch, rep.Summarized, time.Since(start).Round(time.Millisecond))
	return err
}
