package auth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hotrow/internal/clock"
)

func TestPatterns(t *testing.T) {
	ps := Patterns{"auction:*", "schema:shop", "schema:team-*"}
	for room, want := range map[string]bool{
		"auction:a1": true, "auction:": true, "schema:shop": true, "schema:shop2": false,
		"schema:team-x": true, "schema:other": false, "auctionx:a1": false,
	} {
		if got := ps.Match(room); got != want {
			t.Errorf("Match(%q) = %v, want %v", room, got, want)
		}
	}
	if !(Patterns{"*"}).Match("anything:at-all") || (Patterns{}).Match("auction:a1") {
		t.Error("* must match everything and no pattern nothing")
	}
}

func TestRightsClaim(t *testing.T) {
	var r Rights
	if err := json.Unmarshal([]byte(`{"watch":["auction:*"],"bid":["auction:a1"],"edit":["schema:shop"],"vote":["poll:*"],"create":["auction"],"admin":true}`), &r); err != nil {
		t.Fatal(err)
	}
	switch {
	case !r.CanWatch("auction:z") || r.CanWatch("schema:shop"):
		t.Error("watch")
	case !r.CanDo("bid", "auction:a1") || r.CanDo("bid", "auction:a2") || r.CanDo("edit", "auction:a1"):
		t.Error("bid")
	case !r.CanDo("vote", "poll:p") || !r.CanDo("edit", "schema:shop"):
		t.Error("ops of other kinds")
	case !r.CanCreate("auction") || r.CanCreate("schema") || !r.IsAdmin():
		t.Error("create and admin")
	}
	for _, bad := range []string{`[]`, `{"watch":"auction:*"}`, `{"watch":["a*b"]}`, `{"bid":[""]}`, `{"admin":"yes"}`, `{"create":[1]}`, `{"edit":["x\u0000"]}`} {
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	d := DefaultRights([]string{"bid", "edit"})
	if !d.CanWatch("schema:x") || !d.CanDo("bid", "auction:y") || !d.CanDo("edit", "schema:x") || d.CanCreate("auction") || d.IsAdmin() {
		t.Errorf("default rights %+v", d)
	}
	if a := All(); !a.CanCreate("anything") || !a.IsAdmin() || !a.CanDo("x", "y") {
		t.Error("development mode grants everything")
	}
	if _, err := ParseRights(`{"watch":["*"]}`); err != nil {
		t.Error(err)
	}
}

func TestVerify(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	v := &Verifier{Secret: []byte("k"), Default: DefaultRights([]string{"bid"}), Clock: clk}
	sign := func(c jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte("k"))
		return s
	}
	exp := clk.Now().Add(time.Minute)
	id, err := v.Verify(sign(jwt.MapClaims{"sub": "ann", "exp": exp.Unix(), "name": "Ann\x07"}))
	if err != nil || id.User != "ann" || id.Name != "ann" || !id.Expires.Equal(exp) || !id.Rights.CanDo("bid", "auction:x") {
		t.Fatalf("%+v %v", id, err)
	}
	for name, tok := range map[string]string{
		"none":     "",
		"reserved": sign(jwt.MapClaims{"sub": "http", "exp": exp.Unix()}),
		"expired":  sign(jwt.MapClaims{"sub": "ann", "exp": clk.Now().Add(-time.Minute).Unix()}),
		"rights":   sign(jwt.MapClaims{"sub": "ann", "exp": exp.Unix(), "rights": []string{"x"}}),
	} {
		if _, err := v.Verify(tok); err == nil || !strings.Contains(err.Error(), "token") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
