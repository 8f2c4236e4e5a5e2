package hub

import (
	"runtime"
	"sync/atomic"
)

// OpenSockets is how many sockets h serves now.
func OpenSockets(h *Hub) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// CountCollected returns a counter of the sockets open on h now that the
// garbage collector has since freed.
func CountCollected(h *Hub) *atomic.Int64 {
	var n atomic.Int64
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		runtime.AddCleanup(c, func(n *atomic.Int64) { n.Add(1) }, &n)
	}
	return &n
}
