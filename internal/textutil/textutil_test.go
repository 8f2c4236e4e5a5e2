package textutil

import (
	"testing"
	"unicode/utf8"
)

func TestCutBytesKeepsCharactersWhole(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is two bytes: not cut in half
		{"€€", 4, "€"},
		{"", 0, ""},
	} {
		got := CutBytes(tc.in, tc.max)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("CutBytes(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestClipMarksWhatWasCut(t *testing.T) {
	if got := Clip("short", 10); got != "short" {
		t.Errorf("Clip of a short string = %q", got)
	}
	if got := Clip("ééééé", 3); got != "é…" {
		t.Errorf("Clip(ééééé, 3) = %q, want é…", got)
	}
}
