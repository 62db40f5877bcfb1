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
	tool     string
	endpoint string
	attempts int
	status   int
	reason   string

	// Filled from the request only when the access log is on.
	requestID, method, path, client string
	// proto is set for HTTP/2 requests; grpcStatus for gRPC calls (grpc true).
	proto      string
	grpc       bool
	grpcStatus int
}

// fill copies what the log line needs from ctx, which a streamed response
// outlives.
func (rec *accessRecord) fill(ctx *fasthttp.RequestCtx, reqID string) {
	rec.requestID = reqID
	rec.method = string(ctx.Method())
	rec.path = string(ctx.Path())
	rec.client = ctx.RemoteIP().String()
	if bridged(ctx.Conn()) {
		rec.proto = "HTTP/2"
	}
}

// logRecord writes one JSON line per request, once its response has ended
// (streams included). It logs the path without the query string (queries may
// carry keys) and no header values.
func (g *Gateway) logRecord(rec *accessRecord) {
	attrs := []slog.Attr{
		slog.String("request_id", rec.requestID),
		slog.String("method", rec.method),
		slog.String("path", rec.path),
		slog.Int("port", rec.port),
		slog.Int("status", rec.status),
		// An integer: slog's JSON handler formats floats through
		// encoding/json's reflection, a deep and slow call per line.
		slog.Int64("duration_us", time.Since(rec.start).Microseconds()),
		slog.String("client", rec.client),
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
	if rec.tool != "" {
		attrs = append(attrs, slog.String("tool", rec.tool))
	}
	if rec.reason != "" {
		attrs = append(attrs, slog.String("reason", rec.reason))
	}
	if rec.proto != "" {
		attrs = append(attrs, slog.String("proto", rec.proto))
	}
	if rec.grpc {
		attrs = append(attrs, slog.Int("grpc_status", rec.grpcStatus))
	}
	g.log.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
}
