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

func TestHasControl(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "plain": false, "é ü ☃": false, "a b": false,
		"a\x00b": true, "\t": true, "\n": true, "\x7f": true, "\u0085": true, "\u009f": true,
	} {
		if got := HasControl(s); got != want {
			t.Errorf("HasControl(%q) = %v, want %v", s, got, want)
		}
	}
	if n := Chars("éé"); n != 2 {
		t.Errorf("Chars(éé) = %d", n)
	}
}
