package auction

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseCentsAccepts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cents
	}{
		{"0", 0},
		{"0.01", 1},
		{"0.5", 50},
		{"1", 100},
		{"1.5", 150},
		{"1.05", 105},
		{"110", 11000},
		{"110.5", 11050},
		{"110.50", 11050},
		{"999999999.99", MaxCents - 1},
		{"1000000000", MaxCents},
		{"1000000000.00", MaxCents},
	} {
		got, err := ParseCents(tc.in)
		if err != nil {
			t.Errorf("ParseCents(%q): unexpected error %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseCents(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseCentsRejects(t *testing.T) {
	for _, tc := range []struct {
		in   string
		rule string // a word the error must contain, naming the rule broken
	}{
		{"", "empty"},
		{"-1", "no signs"},
		{"+1", "no signs"},
		{"-0.01", "no signs"},
		{"1e3", "exponents"},
		{"1E3", "exponents"},
		{"NaN", "digits"},
		{"Infinity", "digits"},
		{"inf", "digits"},
		{"1.234", "more than two decimals"},
		{"0.001", "more than two decimals"},
		{" 1", "spaces"},
		{"1 ", "spaces"},
		{"1. 5", "spaces"},
		{"1.", "after the decimal point"},
		{".5", "before the decimal point"},
		{".", "before the decimal point"},
		{"1..5", "one decimal point"},
		{"1.2.3", "more than two decimals"},
		{"01", "leading zero"},
		{"00.5", "leading zero"},
		{"00", "leading zero"},
		{"1,000", "digits"},
		{"1_000", "digits"},
		{"0x10", "digits"},
		{"１", "digits"}, // fullwidth digit one
		{"٣", "digits"}, // Arabic-Indic digit three
		{"1\x00", "digits"},
		{"1000000000.01", "over the maximum"},
		{"1000000001", "over the maximum"},
		{"9999999999.99", "over the maximum"},
		{"10000000000", "over the maximum"},
		{"99999999999999999999", "over the maximum"}, // 20 digits: would overflow int64 cents
		{strings.Repeat("9", 21), "too long"},
		{strings.Repeat("1", 10000), "too long"},
		{"1" + strings.Repeat("0", 30) + ".00", "too long"},
	} {
		got, err := ParseCents(tc.in)
		if err == nil {
			t.Errorf("ParseCents(%q) = %d, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.rule) {
			t.Errorf("ParseCents(%q) error %q does not name the rule %q", tc.in, err, tc.rule)
		}
		if len(err.Error()) > 200 {
			t.Errorf("ParseCents(%.20q…) error is %d bytes long; it should not echo huge input", tc.in, len(err.Error()))
		}
	}
}

func TestCentsString(t *testing.T) {
	for _, tc := range []struct {
		c    Cents
		want string
	}{
		{0, "0.00"},
		{1, "0.01"},
		{50, "0.50"},
		{150, "1.50"},
		{11000, "110.00"},
		{11050, "110.50"},
		{MaxCents, "1000000000.00"},
		{-150, "-1.50"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("Cents(%d).String() = %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestCentsJSONRoundTrip(t *testing.T) {
	for _, c := range []Cents{0, 1, 10, 99, 100, 150, 11050, MaxCents - 1, MaxCents} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != '"' {
			t.Errorf("money %d marshals as %s: must be a string, never a JSON number", c, b)
		}
		var back Cents
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("unmarshal %s: %v", b, err)
			continue
		}
		if back != c {
			t.Errorf("round trip of %d gave %d (via %s)", c, back, b)
		}
		// The string form parses back through the wire parser, too.
		if p, err := ParseCents(c.String()); err != nil || p != c {
			t.Errorf("ParseCents(%q) = %d, %v; want %d", c.String(), p, err, c)
		}
	}
	// In a struct, as in State, nil pointers stay null.
	type wrap struct {
		A Cents  `json:"a"`
		B *Cents `json:"b"`
	}
	b, _ := json.Marshal(wrap{A: 11050})
	if string(b) != `{"a":"110.50","b":null}` {
		t.Errorf("got %s", b)
	}
}

func TestCentsUnmarshalRejects(t *testing.T) {
	for _, in := range []string{`110.5`, `1e3`, `"1.234"`, `"-1"`, `""`, `"abc"`, `true`} {
		var c Cents
		if err := json.Unmarshal([]byte(in), &c); err == nil {
			t.Errorf("Unmarshal(%s) = %d, want an error", in, c)
		}
	}
}

// Every amount a committed state can hold decodes: min_next_bid after a bid
// of the maximum with an increment of the maximum is twice the maximum.
func TestStateMoneyDecodesUpToTwiceTheMaximum(t *testing.T) {
	for _, c := range []Cents{0, 1, MaxCents, MaxCents + 1, MaxStateCents} {
		b, _ := c.MarshalJSON()
		var got Cents
		if err := got.UnmarshalJSON(b); err != nil || got != c {
			t.Errorf("%s round-trips to %s, %v", b, got, err)
		}
	}
	var got Cents
	if err := got.UnmarshalJSON([]byte(`"2000000000.01"`)); err == nil {
		t.Errorf("decoded %s past the largest sum of two amounts", got)
	}
	if _, err := ParseCents((MaxCents + 1).String()); err == nil {
		t.Error("wire input over the maximum parsed")
	}
}

// FuzzParseCents: any string either parses to an amount in [0, MaxCents]
// whose canonical form parses back to it, or is refused with a message;
// money decoded from a state round-trips through its JSON.
func FuzzParseCents(f *testing.F) {
	for _, s := range []string{"0", "0.01", "110", "110.5", "110.50", "1000000000.00", "1000000000.01",
		"999999999.99", "-1", "+1", "1e3", "1.", ".5", "01", "00", "1.234", " 1", "NaN", "９", "1_000", "0x10",
		"99999999999999999999", "2000000000.00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCents(s)
		if err != nil {
			if err.Error() == "" || len(err.Error()) > 200 {
				t.Fatalf("error for %q: %q", s, err)
			}
			return
		}
		if c < 0 || c > MaxCents {
			t.Fatalf("%q parsed to %d, outside [0, MaxCents]", s, c)
		}
		again, err := ParseCents(c.String())
		if err != nil || again != c {
			t.Fatalf("%q → %s → %d, %v", s, c, again, err)
		}
		b, _ := c.MarshalJSON()
		var back Cents
		if err := back.UnmarshalJSON(b); err != nil || back != c {
			t.Fatalf("%s does not decode to %d: %d, %v", b, c, back, err)
		}
		// The largest sum a state may hold decodes too.
		sum := c + MaxCents
		b, _ = sum.MarshalJSON()
		if err := back.UnmarshalJSON(b); err != nil || back != sum {
			t.Fatalf("the sum %s does not decode: %v", b, err)
		}
	})
}
