package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// readinessCollector exports, measured at each scrape, what /readyz answers:
// hotrow_ready is 1 while the hub takes sockets and its store answers (the
// 200 of /readyz), hotrow_store_up is 1 when the store answered a ping within
// the timeout (even while draining). Alerts on "store not ready" and "no
// ready hubs" read them (deploy/prometheus/alerts.yml).
type readinessCollector struct {
	serving *atomic.Bool
	ping    func(context.Context) error
	timeout time.Duration
	ready   *prometheus.Desc
	storeUp *prometheus.Desc
}

func newReadinessCollector(serving *atomic.Bool, ping func(context.Context) error, timeout time.Duration) *readinessCollector {
	return &readinessCollector{
		serving: serving,
		ping:    ping,
		timeout: timeout,
		ready: prometheus.NewDesc("hotrow_ready",
			"1 while this hub takes sockets and its store answers (what /readyz answers 200 to), measured at scrape time.", nil, nil),
		storeUp: prometheus.NewDesc("hotrow_store_up",
			"1 if the transaction store answered a ping during this scrape, else 0.", nil, nil),
	}
}

func (c *readinessCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.ready
	ch <- c.storeUp
}

func (c *readinessCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	up := c.ping(ctx) == nil
	ch <- prometheus.MustNewConstMetric(c.storeUp, prometheus.GaugeValue, b2f(up))
	ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, b2f(up && c.serving.Load()))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
