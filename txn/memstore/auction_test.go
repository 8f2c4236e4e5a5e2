package memstore_test

import (
	"testing"

	"hotrow/rooms/auction/auctiontest"
	"hotrow/txn/memstore"
)

func TestAuctionStore(t *testing.T) {
	auctiontest.Run(t, func(t *testing.T) auctiontest.Harness {
		s := memstore.New(nil)
		return auctiontest.Harness{Store: s.Auctions(), Log: s, Rooms: s, FailCommits: func(err error) {
			if err == nil {
				s.KV().FailCommits(nil)
				return
			}
			s.KV().FailCommits(func() error { return err })
		}}
	})
}
