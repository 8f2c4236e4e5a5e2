package hub

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	connections prometheus.Gauge
	disconnects *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	messages    *prometheus.CounterVec

	droppedHalfFull prometheus.Counter // dropped{reason="queue_half_full"}
}

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
	m.droppedHalfFull = m.dropped.WithLabelValues("queue_half_full")
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
