package schema

import (
	"slices"
	"testing"
)

// The op kinds, the fields an op may carry and the base types each live in
// more than one table; these keep the tables in step, since a kind without
// a planner, a field without a reader or a type without a default checker
// would otherwise only show up as a puzzling rejection (or a field silently
// ignored).

func TestPlannersCoverOpKinds(t *testing.T) {
	for _, k := range OpKinds() {
		if planners[k] == nil {
			t.Errorf("op kind %s has no planner in planners", k)
		}
	}
	for k := range planners {
		if _, ok := opFields[k]; !ok {
			t.Errorf("planners has %s, which is not an op kind of opFields", k)
		}
	}
}

func TestOpFieldReadersCoverOpFields(t *testing.T) {
	var readers []string
	for _, f := range opFieldReaders {
		if slices.Contains(readers, f.name) {
			t.Errorf("field %s has two readers", f.name)
		}
		readers = append(readers, f.name)
	}
	want := []string{"expect_rev"} // any kind may carry it
	for _, fields := range opFields {
		for f := range fields {
			want = append(want, f)
		}
	}
	for _, f := range want {
		if !slices.Contains(readers, f) {
			t.Errorf("op field %s has no reader in opFieldReaders", f)
		}
	}
	for _, f := range readers {
		if !slices.Contains(want, f) {
			t.Errorf("opFieldReaders reads %s, which no op kind takes", f)
		}
	}
}

func TestDefaultCheckersCoverTypes(t *testing.T) {
	for alias, base := range typeAliases {
		if defaultCheckers[base] == nil {
			t.Errorf("type %s (%s) has no default checker in defaultCheckers", base, alias)
		}
	}
}
