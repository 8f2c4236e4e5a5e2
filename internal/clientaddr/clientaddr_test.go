package clientaddr

import (
	"net/http"
	"testing"
)

func TestAddr(t *testing.T) {
	trusted, err := ParseTrusted("10.0.0.0/8, 127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	res := Resolver{Trusted: trusted}
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "1.2.3.4", "203.0.113.7"},                      // untrusted peer: XFF ignored
		{"10.1.2.3:80", "198.51.100.1, 10.9.9.9", "198.51.100.1"},           // nearest untrusted hop
		{"127.0.0.1:80", "6.6.6.6, 198.51.100.2, 10.0.0.1", "198.51.100.2"}, // spoofed left part ignored
		{"10.1.2.3:80", "", "10.1.2.3"},
		{"10.1.2.3:80", "garbage", "10.1.2.3"},
		{"[2001:db8:1:2:3::9]:443", "", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:1", "", "192.0.2.1"},
	} {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := res.Addr(r); got != tc.want {
			t.Errorf("%s via %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	if _, err := ParseTrusted("nope"); err == nil {
		t.Error("a bad entry accepted")
	}
}
