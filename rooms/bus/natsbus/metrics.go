package natsbus

import (
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the connection's own; the rooms count what they publish,
// receive and deliver (hotrow_bus_published_total and friends).
type metrics struct {
	reconnects prometheus.Counter
	dropped    prometheus.Counter
	received   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, nc *nats.Conn) *metrics {
	m := &metrics{
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotrow_bus_reconnects_total",
			Help: "Times the connection to NATS was re-made after a disconnection.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotrow_bus_dropped_total",
			Help: "Times NATS reported this hub a slow consumer and dropped messages for it (the rooms fill the gaps from the event log).",
		}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_bus_messages_received_total",
			Help: "Messages received from NATS, by what they carry (events, cursors).",
		}, []string{"carries"}),
	}
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hotrow_bus_up",
		Help: "1 while the connection to NATS is up, else 0 (rooms then poll at the fast interval).",
	}, func() float64 {
		if nc.IsConnected() {
			return 1
		}
		return 0
	})
	m.received.WithLabelValues("events")
	m.received.WithLabelValues("cursors")
	if reg != nil {
		reg.MustRegister(m.reconnects, m.dropped, m.received, up)
	}
	return m
}
