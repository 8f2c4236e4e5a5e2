package rooms

import (
	"fmt"
	"hash/fnv"
	"testing"
)

func TestBloomHoldsWhatItWasGivenAndRarelyMore(t *testing.T) {
	const n, p = 20000, 0.001
	b := newBloom(n, p)
	for i := 0; i < n; i++ {
		b.add(hashKey(AppliedKey(fmt.Sprintf("u%d", i%97), fmt.Sprintf("m%d", i))))
	}
	for i := 0; i < n; i++ {
		if !b.mayContain(hashKey(AppliedKey(fmt.Sprintf("u%d", i%97), fmt.Sprintf("m%d", i)))) {
			t.Fatalf("key %d added but not found: a Bloom filter never says no to a key it holds", i)
		}
	}
	fp := 0
	const probes = 200000
	for i := 0; i < probes; i++ {
		if b.mayContain(hashKey(AppliedKey("someone", fmt.Sprintf("new-%d", i)))) {
			fp++
		}
	}
	// Sized for 0.1%: allow four times that before calling the hash bad.
	if rate := float64(fp) / probes; rate > 4*p {
		t.Fatalf("false-positive rate %.4f%%, sized for %.2f%%", 100*rate, 100*p)
	}
}

func TestBloomFoldKeepsEveryKey(t *testing.T) {
	b := newBloom(5000, 0.001)
	keys := make([]keyHash, 5000)
	for i := range keys {
		keys[i] = hashKey(fmt.Sprintf("k%d", i))
		b.add(keys[i])
	}
	before := b.bytes()
	for f := 0; f < foldMax; f++ {
		if !b.canFold() {
			t.Fatalf("fold %d refused: m=%d was rounded to fold %d times", f, b.m, foldMax)
		}
		b.fold()
		for i, k := range keys {
			if !b.mayContain(k) {
				t.Fatalf("after %d folds key %d is missing", f+1, i)
			}
		}
	}
	if b.bytes()*(1<<foldMax) != before {
		t.Fatalf("%d bytes after %d folds of %d", b.bytes(), foldMax, before)
	}
}

func TestBloomEncoding(t *testing.T) {
	b := newBloom(1000, 0.01)
	b.add(hashKey("x"))
	got, err := decodeBloom(b.encode())
	if err != nil || got.k != b.k || got.m != b.m || !got.mayContain(hashKey("x")) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	// The stored form is a format every hub reads: its hash is FNV-1a 64
	// with SplitMix64's finalizer, and must never change.
	f := fnv.New64a()
	f.Write([]byte(AppliedKey("bob", "m1")))
	if h := hashKey(AppliedKey("bob", "m1")); h.h1 != mix64(f.Sum64()) || h.h1 != 0x9290146379e10f4f {
		t.Fatalf("hashKey changed (h1 %#x): stored summaries would no longer hold their ids", h.h1)
	}
	for name, p := range map[string][]byte{
		"empty":        nil,
		"other format": append([]byte{2}, b.encode()[1:]...),
		"short":        b.encode()[:20],
		"k of 0":       append([]byte{1, 0}, b.encode()[2:]...),
	} {
		if _, err := decodeBloom(p); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// The largest segment of the default configuration fits in one column of
// Aurora DSQL (1 MiB).
func TestLargestSegmentFitsADSQLColumn(t *testing.T) {
	c := IDConfig{}.WithDefaults()
	from, end := c.segmentRange(10)
	if end-from != c.SegmentMax {
		t.Fatalf("segment 10 is %d versions, want the maximum %d", end-from, c.SegmentMax)
	}
	if n := len(newBloom(end-from, c.FalsePositive).encode()); n >= 1<<20 {
		t.Fatalf("a full segment encodes to %d bytes: over DSQL's 1 MiB per column", n)
	}
}

func TestSegmentsDoubleUpToTheMaximum(t *testing.T) {
	c := IDConfig{SegmentBase: 4, SegmentMax: 16}.WithDefaults()
	want := [][2]int64{{0, 4}, {4, 12}, {12, 28}, {28, 44}, {44, 60}}
	for i, w := range want {
		if from, end := c.segmentRange(i); from != w[0] || end != w[1] {
			t.Errorf("segment %d = (%d, %d], want (%d, %d]", i, from, end, w[0], w[1])
		}
	}
}

// A summary over budget folds its sealed segments, largest first, and
// still holds every id.
func TestSummaryFitsItsBudget(t *testing.T) {
	c := IDConfig{SegmentBase: 4096, SegmentMax: 8192}.WithDefaults()
	s := summary{cfg: c}
	var keys []keyHash
	for v := int64(1); v <= 40000; v++ {
		k := hashKey(fmt.Sprint("id", v))
		keys = append(keys, k)
		s.add(v, k)
	}
	s.advance(40000)
	full := s.bytes()
	s.fit(full / 3)
	if s.bytes() > full/3 {
		t.Fatalf("summary of %d bytes over its budget of %d after fitting", s.bytes(), full/3)
	}
	for i, k := range keys {
		if !s.mayContain(k) {
			t.Fatalf("id of version %d lost by folding", i+1)
		}
	}
	last := s.segs[len(s.segs)-1]
	if last.covered != last.end && last.f.m != newBloom(last.end-last.from, c.FalsePositive).m {
		t.Fatalf("the open segment was folded: it is still being filled")
	}
}

// restoreSummary takes the stored segments that lay out a contiguous
// prefix, and stops at the first that does not fit.
func TestRestoreSummaryStopsAtARowThatDoesNotFit(t *testing.T) {
	c := IDConfig{SegmentBase: 4, SegmentMax: 8}.WithDefaults()
	s := summary{cfg: c}
	for v := int64(1); v <= 20; v++ {
		s.add(v, hashKey(fmt.Sprint(v)))
	}
	s.advance(20) // segments (0,4] (4,12] (12,20]
	rows := s.unstored()
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	got, err := restoreSummary(c, rows)
	if err != nil || got.cover != 20 || len(got.segs) != 3 {
		t.Fatalf("restore: cover %d, %d segments, %v", got.cover, len(got.segs), err)
	}
	bad := append([]SummaryRow(nil), rows...)
	bad[1].End = 13 // written by another layout
	got, err = restoreSummary(c, bad)
	if err == nil || got.cover != 4 || len(got.segs) != 1 {
		t.Fatalf("restore past a foreign row: cover %d, %d segments, %v", got.cover, len(got.segs), err)
	}
	bad = append([]SummaryRow(nil), rows...)
	bad[2].Filter = []byte{9}
	if got, err = restoreSummary(c, bad); err == nil || got.cover != 12 {
		t.Fatalf("restore past an unreadable row: cover %d, %v", got.cover, err)
	}
}
