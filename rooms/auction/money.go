package auction

import (
	"fmt"
	"strconv"
)

// Cents is an amount of money in minor units. Money is never a float.
type Cents int64

// MaxCents is the largest amount hotrow accepts: 1,000,000,000.00. Anything
// larger is rejected as invalid_amount. It keeps every sum of two amounts far
// inside int64 and inside NUMERIC(14,2).
const MaxCents Cents = 100_000_000_000

// MaxStateCents is the largest amount a committed state may hold: the sum of
// two amounts, such as min_next_bid after a bid of MaxCents with an
// increment of MaxCents. States and events are decoded up to it, so that
// nothing the rules allowed fails to decode.
const MaxStateCents = 2 * MaxCents

// ParseCents parses a decimal string such as "110", "110.5" or "110.50".
// It rejects signs, exponents, spaces, NaN, more than two decimals, leading
// zeros (other than a single "0" before the point), empty parts ("5.", ".5")
// and amounts above MaxCents. The error says which rule was broken.
func ParseCents(s string) (Cents, error) { return parseCents(s, MaxCents) }

// parseCents is ParseCents with the given maximum.
func parseCents(s string, maxCents Cents) (Cents, error) {
	if s == "" {
		return 0, fmt.Errorf("amount is empty: send a decimal string such as \"110.00\"")
	}
	if len(s) > 20 {
		return 0, fmt.Errorf("amount %.20q… is too long", s)
	}
	whole, frac, hasPoint := s, "", false
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac, hasPoint = s[:i], s[i+1:], true
			break
		}
	}
	if whole == "" {
		return 0, fmt.Errorf("amount %q needs digits before the decimal point", s)
	}
	if hasPoint && frac == "" {
		return 0, fmt.Errorf("amount %q needs digits after the decimal point", s)
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("amount %q has more than two decimals", s)
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("amount %q may hold only digits and one decimal point (no signs, exponents or spaces)", s)
			}
		}
	}
	if len(whole) > 1 && whole[0] == '0' {
		return 0, fmt.Errorf("amount %q has a leading zero", s)
	}
	if len(whole) > 10 {
		return 0, fmt.Errorf("amount %q is over the maximum %s", s, maxCents)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	var f int64
	if frac != "" {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	c := Cents(w*100 + f)
	if c > maxCents {
		return 0, fmt.Errorf("amount %q is over the maximum %s", s, maxCents)
	}
	return c, nil
}

// String formats c with exactly two decimals: 11000 → "110.00".
func (c Cents) String() string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// MarshalJSON writes money as a decimal string, never a number.
func (c Cents) MarshalJSON() ([]byte, error) {
	return []byte(`"` + c.String() + `"`), nil
}

// UnmarshalJSON reads money written by MarshalJSON (used when replaying
// stored events and states), up to MaxStateCents; wire input goes through
// ParseCents for its messages and its maximum.
func (c *Cents) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("money must be a decimal string: %s", b)
	}
	v, err := parseCents(s, MaxStateCents)
	if err != nil {
		return err
	}
	*c = v
	return nil
}
