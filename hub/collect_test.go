package hub_test

import (
	"runtime"
	"testing"

	"github.com/coder/websocket"

	"hotrow/hub"
	"hotrow/internal/testkit"
	"hotrow/rooms/auction"
)

// A socket that ended is freed, whoever ended it: nothing the hub or
// coder/websocket keeps holds on to it. (coder/websocket sets a finalizer
// on its Conn at Accept, which its own close clears; a socket the hub
// dropped without that close stayed in a cycle through the finalizer,
// which the collector never frees: about 5 KB per socket, for good.)
func TestEndedSocketsAreCollected(t *testing.T) {
	w := testkit.NewWorld(t, nil)
	h := w.StartHub(testkit.HubOptions{Cursors: true, Hub: hub.Config{RateLimit: -1, ConnRate: -1}})
	w.Auction(auction.CreateRequest{ID: "lamp", Title: "Lamp", StartingPrice: "1.00", Increment: "0.01"})
	const n = 12
	var clients []*testkit.Client
	for i := range n {
		c := testkit.Dial(t, h.URL, "u")
		if i%2 == 0 {
			c.Send(map[string]any{"type": "join", "room": "auction:lamp", "ref": "j"})
			c.Until("joined")
		}
		clients = append(clients, c)
	}
	waitFor(t, "every socket open", func() bool { return hub.OpenSockets(h.Hub) == n })
	collected := hub.CountCollected(h.Hub)
	for i, c := range clients {
		if i%3 == 0 {
			_ = c.WS.Close(websocket.StatusNormalClosure, "bye") // with the closing handshake
		} else {
			_ = c.WS.CloseNow() // gone without a word, as most clients go
		}
	}
	clients = nil
	waitFor(t, "every socket ended", func() bool { return hub.OpenSockets(h.Hub) == 0 })
	defer func() {
		if t.Failed() {
			t.Logf("%d of the %d sockets were collected", collected.Load(), n)
		}
	}()
	waitFor(t, "every ended socket collected", func() bool {
		runtime.GC() // the cleanups run after a collection, on their own goroutine
		return collected.Load() == n
	})
}
