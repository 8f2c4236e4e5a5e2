// Package bench is `hotrow bench` (make bench): hotrow's fan-out measured
// side by side with Centrifugo by one load client, and the hot room's commit
// rate on PostgreSQL measured against the raw-SQL ceiling, printed as one
// table (issue #15; README, "Fan-out at scale").
//
// Every server runs as a child process on loopback, so its CPU time and
// memory are read from /proc; the load client is this process, the same
// code for every server. The run is bounded in time and stops by itself.
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"
)

// Config sets up one run.
type Config struct {
	Hotrow       string        // the hotrow binary to measure (default: this one)
	Centrifugo   string        // the centrifugo binary; empty skips it
	Sockets      int           // watchers in the hot room
	Rate         float64       // events a second
	Events       int           // events in the fan-out
	Runs         int           // fan-out runs per server; the table shows each measure's median
	PerEvent     bool          // log each event's latency spread
	Dialers      int           // sockets dialled at a time in a join storm
	Settle       time.Duration // idle time after the storm before memory is read
	Drain        time.Duration // longest wait for the last deliveries
	StormTimeout time.Duration
	PGBin        string        // PostgreSQL server binaries; empty skips the commit-rate measure
	Bidders      int           // sockets bidding in the commit-rate measure
	CommitFor    time.Duration // how long each commit-rate measure runs
	Progress     io.Writer
}

func (c Config) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "bench: "+format+"\n", args...)
	}
}

// Main parses flags, runs the bench and prints the table.
func Main(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	self, _ := os.Executable()
	cfg := Config{Progress: stderr}
	fs.StringVar(&cfg.Hotrow, "hotrow", self, "the hotrow binary to measure")
	fs.StringVar(&cfg.Centrifugo, "centrifugo", "", "the Centrifugo "+CentrifugoVersion+" binary (make bench installs it); empty skips it")
	fs.IntVar(&cfg.Sockets, "sockets", 10000, "watching sockets in the hot room")
	fs.Float64Var(&cfg.Rate, "rate", 10, "events a second in the fan-out")
	fs.IntVar(&cfg.Events, "events", 100, "events in the fan-out")
	fs.BoolVar(&cfg.PerEvent, "per-event", false, "log each event's latency, first, median, 99th percentile and last socket, to find where a slow delivery waited")
	fs.IntVar(&cfg.Runs, "runs", 1, "runs per server, alternating between them; the table shows each measure's median and sums the counts")
	fs.IntVar(&cfg.Dialers, "dialers", 200, "sockets dialled at a time in a join storm")
	fs.DurationVar(&cfg.Settle, "settle", 5*time.Second, "idle time after the join storm before memory is read")
	fs.DurationVar(&cfg.Drain, "drain", 10*time.Second, "longest wait for the last deliveries")
	fs.DurationVar(&cfg.StormTimeout, "storm-timeout", 3*time.Minute, "longest join storm")
	fs.StringVar(&cfg.PGBin, "pg-bin", "", "PostgreSQL 15 server binaries for the commit-rate measure; empty skips it")
	fs.IntVar(&cfg.Bidders, "bidders", 32, "bidding sockets in the commit-rate measure")
	fs.DurationVar(&cfg.CommitFor, "commit-for", 10*time.Second, "how long each commit-rate measure runs")
	cpuProfile := fs.String("cpuprofile", "", "write the load client's CPU profile to this file (the client shares the machine with the servers: what it spends, they do not get)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.Sockets < 1 || cfg.Rate <= 0 || cfg.Events < 1 || cfg.Dialers < 1 || cfg.Runs < 1 {
		return errors.New("bench: -sockets, -rate, -events, -dialers and -runs must be positive")
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		return err
	}
	rep.print(stdout)
	return nil
}

// Report is one run's figures.
type Report struct {
	cfg     Config
	fds     uint64
	fanout  [][]*fanoutResult // per server, one per run
	commits *commitResult
}

// Run performs the whole bench.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	fds, err := raiseFileLimit()
	if err != nil {
		return nil, fmt.Errorf("raising the open-file limit: %w", err)
	}
	// The load client and each server hold one descriptor per socket.
	if need := uint64(cfg.Sockets) + 1000; fds < need {
		return nil, fmt.Errorf("the open-file limit is %d; %d sockets need about %d (raise the hard limit: ulimit -Hn)", fds, cfg.Sockets, need)
	}
	rep := &Report{cfg: cfg, fds: fds}
	dir, err := os.MkdirTemp("", "hotrow-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	targets := []target{&hotrowTarget{bin: cfg.Hotrow}}
	if cfg.Centrifugo != "" {
		targets = append(targets, &centrifugoTarget{bin: cfg.Centrifugo, dir: dir})
	}
	// Runs alternate between the servers, so that a disturbance of the
	// machine during one run weighs on both columns alike.
	rep.fanout = make([][]*fanoutResult, len(targets))
	for run := range max(cfg.Runs, 1) {
		for i, t := range targets {
			if cfg.Runs > 1 {
				cfg.logf("%s: run %d of %d", t.name(), run+1, cfg.Runs)
			}
			rep.fanout[i] = append(rep.fanout[i], runFanout(ctx, cfg, t))
		}
	}
	if cfg.PGBin != "" {
		rep.commits = runCommitRate(ctx, cfg)
	}
	return rep, nil
}
