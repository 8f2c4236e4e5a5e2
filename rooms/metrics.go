package rooms

import "github.com/prometheus/client_golang/prometheus"

// Where a broadcast event came from (hotrow_events_delivered_total{source}).
const (
	sourceCommit = "commit" // this hub committed it
	sourceBus    = "bus"    // another hub's commit, received on the bus
	sourceLog    = "log"    // read from the event log: polling, a gap, a catch-up
)

// What became of an event received on the bus
// (hotrow_bus_received_total{outcome}).
const (
	recvDelivered = "delivered" // broadcast from the bus
	recvDuplicate = "duplicate" // this hub had it already
	recvDropped   = "dropped"   // the room was busy or gone
	recvMalformed = "malformed"
)

// metrics are the registry's: rooms live, events delivered by source, and
// the bus's traffic as the rooms see it.
type metrics struct {
	rooms      *prometheus.GaugeVec
	delivered  *prometheus.CounterVec
	publishedC *prometheus.CounterVec
	receivedC  *prometheus.CounterVec
	gapFills   prometheus.Counter
	busLag     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, kinds []string) *metrics {
	m := &metrics{
		rooms: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hotrow_rooms",
			Help: "Rooms with a running sequencer on this hub, by kind.",
		}, []string{"kind"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_events_delivered_total",
			Help: "Committed events broadcast to a room's subscribers on this hub, by where the hub learnt of them: commit (its own), bus (another hub's, received on the bus), log (read from the event log by polling, gap filling or catching up).",
		}, []string{"source"}),
		publishedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_bus_published_total",
			Help: "Events this hub committed and published on the bus, by outcome (ok, error).",
		}, []string{"outcome"}),
		receivedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_bus_received_total",
			Help: "Events received on the bus, by outcome: delivered, duplicate (already delivered), dropped (room busy or retired; the log fills it), malformed.",
		}, []string{"outcome"}),
		gapFills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotrow_bus_gap_fills_total",
			Help: "Events received on the bus ahead of this hub's newest version, whose missing predecessors were read from the event log first.",
		}),
		busLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotrow_bus_lag_seconds",
			Help:    "From an event's publication by one hub to its receipt by this one (the two hubs' clocks).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.rooms, m.delivered, m.publishedC, m.receivedC, m.gapFills, m.busLag)
	}
	for _, k := range kinds {
		m.rooms.WithLabelValues(k)
	}
	for _, s := range []string{sourceCommit, sourceBus, sourceLog} {
		m.delivered.WithLabelValues(s)
	}
	for _, o := range []string{"ok", "error"} {
		m.publishedC.WithLabelValues(o)
	}
	for _, o := range []string{recvDelivered, recvDuplicate, recvDropped, recvMalformed} {
		m.receivedC.WithLabelValues(o)
	}
	return m
}

func (m *metrics) published(err error) {
	if err != nil {
		m.publishedC.WithLabelValues("error").Inc()
		return
	}
	m.publishedC.WithLabelValues("ok").Inc()
}

func (m *metrics) received(outcome string) { m.receivedC.WithLabelValues(outcome).Inc() }
