package memstore_test

import (
	"testing"

	"hotrow/rooms/schema/schematest"
	"hotrow/txn/memstore"
)

func TestSchemaStore(t *testing.T) {
	schematest.Run(t, func(t *testing.T) schematest.Harness {
		s := memstore.New(nil)
		return schematest.Harness{Store: s.Schemas(), Log: s, Rooms: s, FailCommits: func(err error) {
			if err == nil {
				s.KV().FailCommits(nil)
				return
			}
			s.KV().FailCommits(func() error { return err })
		}}
	})
}
