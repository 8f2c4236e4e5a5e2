package archtest

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// TestArchitecture fails on every import in the module that breaks one of
// Rules.
func TestArchitecture(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to read the package graph: %v", err)
		}
		t.Skipf("the go command is needed to read the package graph (put it on PATH): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pkgs, err := Load(ctx, goBin, ".", "hotrow/...")
	if err != nil {
		t.Fatal(err)
	}
	// A rule naming no package (after a rename, say) would hold vacuously.
	for _, r := range Rules {
		for _, pattern := range slices.Concat(r.From, r.Except, r.Forbid, r.Allow, r.TestsMay) {
			if !slices.ContainsFunc(pkgs, func(p Package) bool { return matchAny([]string{pattern}, p.ImportPath) }) {
				t.Errorf("rule %q names %s, which matches no package of the module", r.Name, pattern)
			}
		}
	}
	for _, v := range Check(pkgs, Rules) {
		t.Error(v)
	}
}

// TestCheck feeds Check small made-up graphs: each forbidden arrow is
// found and named with its rule, and the allowed ones are not reported.
func TestCheck(t *testing.T) {
	const (
		txnRule = iota
		roomsRule
		hubRule
		storesRule
		serverRule
	)
	forbidden := []struct {
		from, to string
		test     bool
		rule     int
	}{
		{"hotrow/txn", "hotrow/rooms", false, txnRule},
		{"hotrow/txn", "hotrow/hub/wire", false, txnRule},
		{"hotrow/txn", "hotrow/txn/memstore", false, txnRule},
		{"hotrow/txn", "hotrow/rooms/auction", true, txnRule},
		{"hotrow/rooms", "hotrow/hub", false, roomsRule},
		{"hotrow/rooms/auction", "hotrow/txn/pgstore", false, roomsRule},
		{"hotrow/rooms/schema", "hotrow/rooms/cursors/dynamo", false, roomsRule},
		{"hotrow/rooms/cursors", "hotrow/hub", true, roomsRule}, // tests may import stores, not hub
		{"hotrow/hub", "hotrow/txn/dsql", false, hubRule},
		{"hotrow/hub/wire", "hotrow/txn/memstore", false, hubRule},
		{"hotrow/txn/pgstore", "hotrow/hub/wire", false, storesRule},
		{"hotrow/txn/memstore", "hotrow/hub", true, storesRule},
		{"hotrow/rooms", "hotrow/server/loadtest", false, serverRule},
		{"hotrow/internal/clock", "hotrow/server", true, serverRule},
	}
	for _, f := range forbidden {
		p := Package{ImportPath: f.from, Imports: []string{f.to}, Deps: []string{f.to}}
		if f.test {
			p = Package{ImportPath: f.from, XTestImports: []string{f.to}}
		}
		got := Check([]Package{p}, Rules)
		want := Violation{From: f.from, To: f.to, Test: f.test, Rule: Rules[f.rule].Name}
		if !f.test {
			want.Via = []string{f.from, f.to}
		}
		if !slices.ContainsFunc(got, func(v Violation) bool { return v.String() == want.String() && slices.Equal(v.Via, want.Via) }) {
			t.Errorf("%s -> %s (test %v): got %v, want %v", f.from, f.to, f.test, got, want)
		}
	}

	allowed := []Package{
		{ImportPath: "hotrow/txn", Imports: []string{"hotrow/internal/clock"}, Deps: []string{"hotrow/internal/clock", "context"}},
		{ImportPath: "hotrow/rooms", Imports: []string{"hotrow/hub/wire", "hotrow/txn"}, Deps: []string{"hotrow/hub/wire", "hotrow/txn"},
			XTestImports: []string{"hotrow/rooms", "hotrow/txn/memstore"}},
		{ImportPath: "hotrow/rooms/cursors/dynamo", Imports: []string{"hotrow/rooms/cursors"}, Deps: []string{"hotrow/rooms/cursors", "hotrow/hub/wire"}},
		{ImportPath: "hotrow/hub", Imports: []string{"hotrow/rooms"}, Deps: []string{"hotrow/rooms"},
			TestImports: []string{"hotrow/txn/memstore"}, XTestImports: []string{"hotrow/hub", "hotrow/txn/pgstore"}},
		{ImportPath: "hotrow/txn/pgstore", Imports: []string{"hotrow/rooms", "hotrow/txn"}, Deps: []string{"hotrow/rooms", "hotrow/txn", "hotrow/hub/wire"}},
		{ImportPath: "hotrow/server", Imports: []string{"hotrow/hub", "hotrow/txn/memstore", "hotrow/server/loadtest"},
			Deps: []string{"hotrow/hub", "hotrow/txn/memstore", "hotrow/server/loadtest"}},
	}
	if got := Check(allowed, Rules); len(got) != 0 {
		t.Fatalf("allowed graph: got %v, want none", got)
	}
}

// An import through another package is found, and its chain named.
func TestCheckIndirect(t *testing.T) {
	pkgs := []Package{
		{ImportPath: "hotrow/rooms", Imports: []string{"hotrow/internal/helper"},
			Deps: []string{"hotrow/internal/helper", "hotrow/txn/memstore"}},
		{ImportPath: "hotrow/internal/helper", Imports: []string{"hotrow/txn/memstore"}, Deps: []string{"hotrow/txn/memstore"}},
		{ImportPath: "hotrow/txn/memstore"},
	}
	got := Check(pkgs, Rules)
	if len(got) != 1 || !slices.Equal(got[0].Via, []string{"hotrow/rooms", "hotrow/internal/helper", "hotrow/txn/memstore"}) {
		t.Fatalf("got %v, want rooms -> memstore through internal/helper", got)
	}
	t.Log(got[0])

	// A store may reach the wire contract through rooms, but not the hub
	// through anything.
	pkgs = []Package{
		{ImportPath: "hotrow/txn/pgstore", Imports: []string{"hotrow/rooms", "hotrow/internal/helper"},
			Deps: []string{"hotrow/rooms", "hotrow/hub/wire", "hotrow/internal/helper", "hotrow/hub"}},
		{ImportPath: "hotrow/rooms", Imports: []string{"hotrow/hub/wire"}, Deps: []string{"hotrow/hub/wire"}},
		{ImportPath: "hotrow/internal/helper", Imports: []string{"hotrow/hub"}, Deps: []string{"hotrow/hub"}},
	}
	got = Check(pkgs, Rules)
	if len(got) != 1 || !slices.Equal(got[0].Via, []string{"hotrow/txn/pgstore", "hotrow/internal/helper", "hotrow/hub"}) {
		t.Fatalf("got %v, want pgstore -> hub through internal/helper only", got)
	}
}
