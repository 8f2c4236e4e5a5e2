package hub

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	connections prometheus.Gauge
	disconnects *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	messages    *prometheus.CounterVec
}

// Disconnect reasons (bounded label values).
const (
	reasonClient       = "client"
	reasonSlowConsumer = "slow_consumer"
	reasonTooBig       = "too_big"
	reasonShutdown     = "shutdown"
	reasonResync       = "resync"
	reasonError        = "error"
)

// disconnectReasons are the values of hotrow_ws_disconnects_total's reason
// that the hub counts.
var disconnectReasons = []string{reasonClient, reasonSlowConsumer, reasonTooBig, reasonShutdown, reasonResync}

// Drop reasons (bounded label values of hotrow_ws_frames_dropped_total).
const dropQueueHalfFull = "queue_half_full" // a droppable frame met a queue at least half full

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotrow_connections", Help: "Open WebSocket connections on this hub.",
		}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_ws_disconnects_total", Help: "Closed WebSocket connections, by reason.",
		}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_ws_frames_dropped_total", Help: "Droppable frames (cursor batches) not sent to a socket under pressure, by reason.",
		}, []string{"reason"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_ws_messages_total", Help: "Client messages received, by type (unknown types counted as other).",
		}, []string{"type"}),
	}
	// Every bounded series exists at zero from the start, so that rate()
	// and increase() see the first eviction or drop on a hub (a series born
	// at 1 hides it) and the families exist before anything happened.
	for _, r := range disconnectReasons {
		m.disconnects.WithLabelValues(r)
	}
	m.dropped.WithLabelValues(dropQueueHalfFull)
	for t := range knownTypes {
		m.messages.WithLabelValues(t)
	}
	m.messages.WithLabelValues("other")
	if reg != nil {
		reg.MustRegister(m.connections, m.disconnects, m.dropped, m.messages)
	}
	return m
}

var knownTypes = map[string]bool{"join": true, "leave": true, "bid": true, "edit": true, "cursor": true, "ping": true}

func typeLabel(t string) string {
	if knownTypes[t] {
		return t
	}
	return "other"
}
