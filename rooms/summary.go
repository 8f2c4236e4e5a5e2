package rooms

import (
	"fmt"
)

// IDConfig sizes what a hub keeps in memory of a room's idempotency
// records: the ids of the newest versions (the window), and a summary of
// the others (Bloom filters, one per segment of versions). Zero fields take
// the defaults (see WithDefaults).
type IDConfig struct {
	// Window is how many of the newest versions keep their ids, with their
	// acks, in memory while a hub serves the room: a resend of one of them
	// is answered without the database. A hub that has just loaded the
	// room holds those of the newest Step to 2*Step versions, and the
	// window fills as the room goes on. Default 4096; at least Step.
	Window int64
	// Step is how often, in versions, the summary moves forward: to the
	// newest multiple of Step, with one indexed range read of about Step
	// records and one save of the open segment. A load reads the records
	// after the stored summary: fewer than 2*Step. Default 1024.
	Step int64
	// SegmentBase and SegmentMax are the lengths, in versions, of the
	// summary's segments: the first covers SegmentBase versions, each next
	// one twice as many, up to SegmentMax. Defaults 16384 and 65536 (the
	// open segment, rewritten every Step, is then at most 118 KB).
	SegmentBase, SegmentMax int64
	// FalsePositive is each segment's target rate of false "maybe"s, each
	// of which costs one indexed point read. Default 0.001.
	FalsePositive float64
	// Budget is the most bytes of summary a room keeps in memory; beyond it
	// the oldest segments are folded (halved, at the cost of more false
	// "maybe"s for them). Default 4 MiB.
	Budget int
}

// WithDefaults returns c with its zero fields set.
func (c IDConfig) WithDefaults() IDConfig {
	if c.Step <= 0 {
		c.Step = 1024
	}
	if c.Window <= 0 {
		c.Window = 4096
	}
	c.Window = max(c.Window, c.Step)
	if c.SegmentBase <= 0 {
		c.SegmentBase = 16384
	}
	if c.SegmentMax < c.SegmentBase {
		c.SegmentMax = max(c.SegmentBase, 65536)
	}
	if c.FalsePositive <= 0 || c.FalsePositive >= 1 {
		c.FalsePositive = 0.001
	}
	if c.Budget <= 0 {
		c.Budget = 4 << 20
	}
	return c
}

// target is the version the summary should cover when the room is at
// version known: the newest multiple of Step, so that every hub stores the
// same summaries.
func (c IDConfig) target(known int64) int64 { return known / c.Step * c.Step }

// segmentRange is the versions (from, end] of segment i.
func (c IDConfig) segmentRange(i int) (from, end int64) {
	n := c.SegmentBase
	for j := 0; j < i; j++ {
		from += n
		n = min(2*n, c.SegmentMax)
	}
	return from, from + n
}

// SummaryRow is one stored segment of a room's summary: a filter holding
// the ids of versions (From, Covered], for the segment (From, End].
type SummaryRow struct {
	Seg       int
	From, End int64
	Covered   int64
	Filter    []byte // the encoding is this package's (bloom.go)
}

// segment is one Bloom filter of the summary.
type segment struct {
	from, end, covered int64
	f                  *bloom
	stored             int64 // covered as stored, as far as this hub knows
}

// summary holds the ids of versions 1..cover in contiguous segments.
type summary struct {
	cfg   IDConfig
	segs  []*segment
	cover int64
}

func (s *summary) mayContain(h keyHash) bool {
	for _, sg := range s.segs {
		if sg.f.mayContain(h) {
			return true
		}
	}
	return false
}

// add puts the id of version v (> cover) in its segment, opening segments
// as needed.
func (s *summary) add(v int64, h keyHash) {
	for len(s.segs) == 0 || v > s.segs[len(s.segs)-1].end {
		from, end := s.cfg.segmentRange(len(s.segs))
		s.segs = append(s.segs, &segment{from: from, end: end, f: newBloom(end-from, s.cfg.FalsePositive)})
	}
	for i := len(s.segs) - 1; i >= 0; i-- {
		if sg := s.segs[i]; v > sg.from {
			sg.f.add(h)
			return
		}
	}
}

// advance records that every id of a version up to v is in the summary.
func (s *summary) advance(v int64) {
	if v <= s.cover {
		return
	}
	for len(s.segs) == 0 || v > s.segs[len(s.segs)-1].end {
		from, end := s.cfg.segmentRange(len(s.segs))
		s.segs = append(s.segs, &segment{from: from, end: end, f: newBloom(end-from, s.cfg.FalsePositive)})
	}
	s.cover = v
	for _, sg := range s.segs {
		if c := min(v, sg.end); c > sg.covered {
			sg.covered = c
		}
	}
}

// unstored returns the rows of the segments covered further than stored.
func (s *summary) unstored() []SummaryRow {
	var out []SummaryRow
	for i, sg := range s.segs {
		if sg.covered > sg.stored && sg.covered > sg.from {
			out = append(out, SummaryRow{Seg: i, From: sg.from, End: sg.end, Covered: sg.covered, Filter: sg.f.encode()})
		}
	}
	return out
}

func (s *summary) markStored(r SummaryRow) {
	if r.Seg < len(s.segs) {
		s.segs[r.Seg].stored = max(s.segs[r.Seg].stored, r.Covered)
	}
}

// bytes is the summary's size in memory.
func (s *summary) bytes() int {
	n := 0
	for _, sg := range s.segs {
		n += sg.f.bytes()
	}
	return n
}

// fit folds sealed segments until the summary is within budget (or nothing
// can be folded further): the largest first, the oldest among equals, so
// that the false "maybe"s spread evenly over the oldest versions.
func (s *summary) fit(budget int) {
	for s.bytes() > budget {
		var pick *segment
		for _, sg := range s.segs {
			if sg.covered == sg.end && sg.f.canFold() && (pick == nil || sg.f.m > pick.f.m) {
				pick = sg
			}
		}
		if pick == nil {
			return
		}
		pick.f.fold()
	}
}

// restoreSummary rebuilds a summary from its stored rows: the longest run
// of segments from the first, each as this configuration lays it out, that
// covers a contiguous prefix of versions. A row that does not fit (another
// configuration wrote it, or it cannot be read) ends the run: the versions
// after it are read again from the store, never assumed absent.
func restoreSummary(cfg IDConfig, rows []SummaryRow) (summary, error) {
	s := summary{cfg: cfg}
	var bad error
	for i, r := range rows {
		from, end := cfg.segmentRange(i)
		if r.Seg != i || r.From != from || r.End != end || r.Covered <= from || r.Covered > end {
			bad = fmt.Errorf("summary segment %d covers (%d, %d] of (%d, %d]; this hub lays out segment %d as (%d, %d]",
				r.Seg, r.From, r.Covered, r.From, r.End, i, from, end)
			break
		}
		f, err := decodeBloom(r.Filter)
		if err != nil {
			bad = fmt.Errorf("summary segment %d: %w", r.Seg, err)
			break
		}
		s.segs = append(s.segs, &segment{from: from, end: end, covered: r.Covered, stored: r.Covered, f: f})
		s.cover = r.Covered
		if r.Covered < end {
			break
		}
	}
	return s, bad
}
