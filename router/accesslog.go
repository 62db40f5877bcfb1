package router

import (
	"context"
	"log/slog"
	"time"

	"github.com/valyala/fasthttp"
)

// accessRecord collects what the access log line says about one request.
type accessRecord struct {
	start    time.Time
	port     int
	route    string
	backend  string
	endpoint string
	attempts int
	status   int
	reason   string
}

// logAccess writes one JSON line per request. It logs the path without the
// query string (queries may carry keys) and no header values.
func (g *Gateway) logAccess(ctx *fasthttp.RequestCtx, rec *accessRecord, reqID string) {
	attrs := []slog.Attr{
		slog.String("request_id", reqID),
		slog.String("method", string(ctx.Method())),
		slog.String("path", string(ctx.Path())),
		slog.Int("port", rec.port),
		slog.Int("status", rec.status),
		slog.Float64("duration_ms", float64(time.Since(rec.start).Microseconds())/1000),
		slog.String("client", ctx.RemoteIP().String()),
	}
	if rec.route != "" {
		attrs = append(attrs, slog.String("route", rec.route))
	}
	if rec.backend != "" {
		attrs = append(attrs, slog.String("backend", rec.backend))
	}
	if rec.endpoint != "" {
		attrs = append(attrs, slog.String("endpoint", rec.endpoint), slog.Int("attempts", rec.attempts))
	}
	if rec.reason != "" {
		attrs = append(attrs, slog.String("reason", rec.reason))
	}
	g.log.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
}
