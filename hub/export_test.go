package hub

import (
	"runtime"
	"sync/atomic"
)

// OpenSockets is how many sockets h serves now.
func OpenSockets(h *Hub) int { return len(h.openConns()) }

// CountCollected returns a counter of the sockets open on h now that the
// garbage collector has since freed.
func CountCollected(h *Hub) *atomic.Int64 {
	var n atomic.Int64
	for _, c := range h.openConns() {
		runtime.AddCleanup(c, func(n *atomic.Int64) { n.Add(1) }, &n)
	}
	return &n
}
