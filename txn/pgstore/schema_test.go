package pgstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"hotrow/internal/testpg"
	"hotrow/rooms/schema/schematest"
	"hotrow/txn/pgstore"
)

// TestMain starts one PostgreSQL 15 for the package's tests (testpg). Other
// test files of this package share it.
func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }

// openStore returns a migrated store on a fresh database.
func openStore(t *testing.T) *pgstore.Store {
	t.Helper()
	dsn := testpg.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSchemaStore(t *testing.T) {
	schematest.Run(t, func(t *testing.T) schematest.Harness {
		s := openStore(t)
		return schematest.Harness{Store: s.Schemas(), Log: s, Rooms: s}
	})
}
