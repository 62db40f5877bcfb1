package l4

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the L4 proxy's Prometheus series.
type metrics struct {
	conns  *prometheus.CounterVec
	bytes  *prometheus.CounterVec
	active prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_l4_connections_total",
			Help: "TCP and TLS connections ended, by route key and result (ok, or why the connection was refused or ended).",
		}, []string{"route", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_l4_bytes_total",
			Help: "Bytes relayed by TCP and TLS routes, by route key and direction (in: from clients, out: to clients).",
		}, []string{"route", "direction"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchyard_l4_active_connections",
			Help: "TCP and TLS client connections open now.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.conns, m.bytes, m.active)
	}
	return m
}

// record is what the access log line and the metrics say about one connection.
type record struct {
	start                     time.Time
	kind                      string // tcp or tls
	port                      int
	client, sni, route        string
	backend, endpoint, reason string
	attempts                  int
	in, out                   atomic.Int64
}

// finish counts and logs a connection that ended.
func (p *Proxy) finish(t *Table, rec *record) {
	route := rec.route
	if route == "" {
		route = "none"
	}
	result := rec.reason
	switch result {
	case "", "closed":
		result = "ok"
	}
	p.metrics.conns.WithLabelValues(route, result).Inc()
	if in, out := rec.in.Load(), rec.out.Load(); in > 0 || out > 0 {
		p.metrics.bytes.WithLabelValues(route, "in").Add(float64(in))
		p.metrics.bytes.WithLabelValues(route, "out").Add(float64(out))
	}
	if t != nil && !t.AccessLog {
		return
	}
	kind := rec.kind
	if kind == "" {
		kind = "tcp"
	}
	attrs := []slog.Attr{
		slog.String("kind", kind),
		slog.Int("port", rec.port),
		slog.String("client", rec.client),
		slog.Int64("bytes_in", rec.in.Load()),
		slog.Int64("bytes_out", rec.out.Load()),
		slog.Int64("duration_us", time.Since(rec.start).Microseconds()),
	}
	if rec.sni != "" {
		attrs = append(attrs, slog.String("sni", rec.sni))
	}
	if rec.route != "" {
		attrs = append(attrs, slog.String("route", rec.route))
	}
	if rec.endpoint != "" {
		attrs = append(attrs, slog.String("backend", rec.backend), slog.String("endpoint", rec.endpoint), slog.Int("attempts", rec.attempts))
	}
	if rec.reason != "" {
		attrs = append(attrs, slog.String("reason", rec.reason))
	}
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
}
