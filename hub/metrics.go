package hub

import (
	"hotrow/hub/wire"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	connections prometheus.Gauge
	disconnects *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	messages    *prometheus.CounterVec
	// types are the message types counted under their own label: the
	// hub's own and every room kind's ops; anything else is "other".
	types map[string]bool

	droppedHalfFull prometheus.Counter // dropped{reason="queue_half_full"}
}

// newMetrics makes the hub's metrics; opTypes are the room kinds' message
// types, counted under their own label besides the hub's own.
func newMetrics(reg prometheus.Registerer, opTypes []string) *metrics {
	m := &metrics{
		types: map[string]bool{},
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
	for _, d := range disconnects {
		m.disconnects.WithLabelValues(d.label)
	}
	m.droppedHalfFull = m.dropped.WithLabelValues("queue_half_full")
	for _, t := range append(slices.Clone(wire.HubTypes), opTypes...) {
		m.types[t] = true
		m.messages.WithLabelValues(t)
	}
	m.messages.WithLabelValues("other")
	if reg != nil {
		reg.MustRegister(m.connections, m.disconnects, m.dropped, m.messages)
	}
	return m
}

// typeLabel is the type label of a client message of type t.
func (m *metrics) typeLabel(t string) string {
	if m.types[t] {
		return t
	}
	return "other"
}
