package pgstore_test

import (
	"testing"

	"hotrow/rooms/auction/auctiontest"
)

func TestAuctionStore(t *testing.T) {
	auctiontest.Run(t, func(t *testing.T) auctiontest.Harness {
		s := openStore(t)
		return auctiontest.Harness{Store: s.Auctions(), Log: s, Rooms: s}
	})
}
