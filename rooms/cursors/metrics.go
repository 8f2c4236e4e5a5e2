package cursors

import "github.com/prometheus/client_golang/prometheus"

// Write outcomes (bounded label values of hotrow_cursor_store_writes_total).
const (
	outcomeOK        = "ok"        // a put or delete succeeded
	outcomeError     = "error"     // a put or delete failed (retried at the bounded rate)
	outcomeCoalesced = "coalesced" // a move replaced a position not yet written: one write saved
)

// Store operations (label values of hotrow_cursor_store_errors_total).
const (
	opPut    = "put"
	opDelete = "delete"
	opList   = "list"
	opBus    = "bus" // publishing or decoding a batch on the bus
)

// Directions of hotrow_cursor_bus_batches_total.
const (
	dirSent     = "sent"
	dirReceived = "received"
)

type metrics struct {
	frames prometheus.Counter
	writes *prometheus.CounterVec
	errors *prometheus.CounterVec
	rooms  prometheus.Gauge

	busBatches *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotrow_cursor_frames_total",
			Help: "Cursor batch frames queued to sockets (one per socket per room per tick at most).",
		}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_cursor_store_writes_total",
			Help: "Cursor store writes by outcome: ok, error, or coalesced (a newer position replaced one not yet written).",
		}, []string{"outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_cursor_store_errors_total",
			Help: "Failed cursor store operations, by op (put, delete, list; bus: a batch that could not be published or read).",
		}, []string{"op"}),
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotrow_cursor_rooms",
			Help: "Rooms with cursor members on this hub.",
		}),
		busBatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotrow_cursor_bus_batches_total",
			Help: "Cursor batches on the bus, by direction: sent (one per room per tick with local changes), received (from other hubs).",
		}, []string{"direction"}),
	}
	m.busBatches.WithLabelValues(dirSent)
	m.busBatches.WithLabelValues(dirReceived)
	for _, o := range []string{outcomeOK, outcomeError, outcomeCoalesced} {
		m.writes.WithLabelValues(o)
	}
	for _, o := range []string{opPut, opDelete, opList, opBus} {
		m.errors.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.frames, m.writes, m.errors, m.rooms, m.busBatches)
	}
	return m
}
