package ai

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/inference"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/dialer"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// Health tuning: an AI backend failing outlier.Consecutive5xx times in a row
// is ejected for outlier.BaseEjectionTime (times its ejection count), as a
// static endpoint is; a Retry-After keeps it out for that long.
var outlier = &config.OutlierDetection{Consecutive5xx: 3, BaseEjectionTime: config.Duration(30 * time.Second)}

const (
	// defaultTimeout bounds an attempt to its response headers when ai.timeout is unset.
	defaultTimeout = 60 * time.Second
	// defaultMaxConns per upstream host when ai.maxConnections is unset.
	defaultMaxConns = 1024
	// maxResponseBytes bounds a buffered (non-streamed) upstream response.
	maxResponseBytes = 256 << 20
)

// backend is one AI backend of a snapshot: its configuration and adapter,
// over an upstream state shared with the snapshots before and after it.
type backend struct {
	key, short string
	cfg        *config.AIBackend
	adapter    providers.Adapter
	direct     providers.Direct
	// raw is true when the adapter takes the client's body as it is
	// (providers.RawBody): the body is not decoded for it.
	raw     bool
	models  map[string]bool
	timeout time.Duration
	// streamIdle bounds the wait for each read of a streamed upstream body
	// once its headers have arrived.
	streamIdle time.Duration
	up         *upstreamState
	// pool is an inferencePool backend's pool (nil for a provider).
	pool *inference.Pool
	// h2c is the HTTP/2 cleartext client of a pool whose appProtocol is
	// kubernetes.io/h2c (nil: HTTP/1.1 through up.client).
	h2c *http.Transport
}

// upstreamState is what an AI backend keeps across reloads: its client
// (connection pool, TLS session cache), its signer (cached credentials) and
// its health. It is keyed in the upstream.State by the backend's identity.
type upstreamState struct {
	upstream.Ejection
	// healthy is the active health check's verdict (true without one).
	healthy atomic.Bool
	checker *upstream.Checker
	client  *fasthttp.Client
	signer  auth.Signer
	// why says why the backend cannot serve (credentials that did not load), "" when it can.
	why string
}

// identity is what an AI backend's upstream state depends on: where it
// connects, how (TLS settings and the CA file's contents, pool size) and
// with which credentials (a digest, never the secret), hashed: a baseURL may
// carry a password, which must not sit in a key that errors or diagnostics
// could print.
func identity(key string, cfg *config.AIBackend) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%+v|%s|%d|%s|%+v", cfg.Provider, cfg.BaseURL, cfg.Region,
		deref(cfg.TLS), upstream.CADigest(cfg.TLS), cfg.MaxConnections, auth.Digest(cfg), deref(cfg.HealthCheck)))
	return "ai|" + key + "|" + hex.EncodeToString(sum[:])
}

func deref[T any](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}

func (fa *Factory) newBackend(key string, cfg *config.AIBackend, gen *upstream.Generation) (*backend, error) {
	a := fa.prov.Adapter(cfg.Provider)
	d := fa.prov.Direct(cfg.Provider)
	if d == nil {
		d, _ = a.(providers.Direct)
	}
	if a == nil && d == nil {
		return nil, fmt.Errorf("no adapter for provider %q", cfg.Provider)
	}
	if c, ok := a.(providers.Compiler); ok && d == nil {
		// A backend the adapter cannot compile keeps the adapter as it is:
		// its attempts then fail with the adapter's own error, as before.
		if ca, err := c.Compile(cfg); err == nil {
			a = ca
		}
	}
	b := &backend{key: key, short: key, cfg: cfg, adapter: a, direct: d, models: map[string]bool{}, timeout: cfg.Timeout.D()}
	if r, ok := a.(providers.RawBody); ok {
		b.raw = r.RawBody()
	}
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		b.short = key[i+1:]
	}
	for _, m := range cfg.Models {
		b.models[m] = true
	}
	if b.timeout <= 0 {
		b.timeout = defaultTimeout
	}
	b.streamIdle = cfg.StreamIdleTimeout.D()
	if b.streamIdle <= 0 {
		b.streamIdle = b.timeout
	}
	id := identity(key, cfg)
	if b.direct != nil {
		id = "ai-direct|" + key // health only
	}
	built := false
	build := func() (any, func(), error) {
		built = true
		up := &upstreamState{}
		up.healthy.Store(true)
		if b.direct == nil {
			fa.buildUpstream(up, cfg, gen.Dials())
			if cfg.HealthCheck != nil {
				up.checker = upstream.StartChecker(cfg.HealthCheck, key, &up.healthy, up.probe(cfg), fa.log)
			}
		}
		return up, up.close, nil
	}
	v, err := gen.Get(id, build)
	if err == nil && !built && v.(*upstreamState).why != "" {
		// Credentials that did not load may load now (a file mounted
		// since, a fixed profile): a reload tries again.
		v, err = gen.Renew(id, build)
	}
	if err != nil {
		return nil, err
	}
	b.up = v.(*upstreamState)
	return b, nil
}

// buildUpstream makes an AI backend's signer and client. Credentials or TLS
// settings that cannot be used leave the backend configured but answering
// 503 (so that routing fails over) until a reload brings usable ones; the
// cause goes to /config and the log.
func (fa *Factory) buildUpstream(up *upstreamState, cfg *config.AIBackend, dials *dialer.Pool) {
	header, prefix := fa.prov.Credential(cfg.Provider)
	s, err := auth.NewUpstreamSigner(fa.ctx, cfg, header, prefix)
	if err != nil {
		up.why = fmt.Sprintf("credentials cannot be loaded: %v", err)
		s = unavailableSigner{}
	}
	// The TLS settings are read once (validation has checked the CA file;
	// one replaced since by garbage makes the backend unavailable).
	tlsConf, err := upstream.ClientTLS(cfg.TLS, "")
	if err != nil {
		up.why = fmt.Sprintf("TLS settings cannot be used: %v", err)
		s, tlsConf = unavailableSigner{}, &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	up.signer = s
	maxConns := cfg.MaxConnections
	if maxConns <= 0 {
		maxConns = defaultMaxConns
	}
	up.client = &fasthttp.Client{
		Name:                          "switchyard",
		MaxConnsPerHost:               maxConns,
		MaxIdleConnDuration:           90 * time.Second,
		MaxResponseBodySize:           maxResponseBytes,
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		ConfigureClient:               configureHostClient(tlsConf, dials),
	}
}

// probe is the backend's health check: GET baseURL+path, signed as a
// request is, through the backend's client; 2xx and 3xx are healthy.
func (up *upstreamState) probe(cfg *config.AIBackend) upstream.Probe {
	url := strings.TrimRight(cfg.BaseURL, "/") + cfg.HealthCheck.Path
	return func(ctx context.Context, timeout time.Duration) bool {
		u := &schema.Upstream{Method: fasthttp.MethodGet, URL: url}
		if up.signer.Sign(ctx, u, auth.ClientCredentials{}) != nil {
			return false
		}
		header := make([][2]string, len(u.Header))
		for i, h := range u.Header {
			header[i] = [2]string{h.Name, h.Value}
		}
		return upstream.ProbeGET(up.client, u.URL, header, timeout)
	}
}

func (up *upstreamState) close() {
	up.checker.Stop()
	if up.client != nil {
		up.client.CloseIdleConnections()
	}
}

// problem says why b cannot serve, "" when it can.
func (b *backend) problem() string { return b.up.why }

// serves reports whether b serves the client-facing model and, if so, the
// upstream model to ask for; listed is true when the configuration names the
// model (in models or aliases), false when a client-chosen name is served (a
// catch-all backend, or the backend/model form).
func (b *backend) serves(model string) (upstream string, listed, ok bool) {
	c := b.cfg
	// An alias wins even when its name is also listed in models: listing the
	// client-facing name there is the natural way to advertise it.
	if up, ok := c.Aliases[model]; ok {
		return up, true, true
	}
	if b.models[model] {
		if c.Model != "" {
			return c.Model, true, true
		}
		return model, true, true
	}
	if rest, ok := cutBackendPrefix(model, b.key); ok {
		return rest, false, true
	}
	if rest, ok := cutBackendPrefix(model, b.short); ok {
		return rest, false, true
	}
	if len(c.Models) == 0 {
		if c.Model != "" {
			return c.Model, false, true
		}
		return model, false, true
	}
	return "", false, false
}

// namedBy reports whether the client named this backend in a backend/model name.
func (b *backend) namedBy(model string) bool {
	_, byKey := cutBackendPrefix(model, b.key)
	_, byShort := cutBackendPrefix(model, b.short)
	return byKey || byShort
}

func cutBackendPrefix(model, name string) (string, bool) {
	if len(model) > len(name)+1 && model[len(name)] == '/' && model[:len(name)] == name {
		return model[len(name)+1:], true
	}
	return "", false
}

// healthy reports whether b may be tried now: its health check (if any)
// passes, it is not ejected and no Retry-After wait runs.
func (b *backend) healthy(now int64) bool { return b.up.healthy.Load() && b.up.Available(now) }

// succeeded resets the failure count.
func (b *backend) succeeded() { b.up.Succeeded() }

// failed counts a failure; retryAfter > 0 keeps b out for that long, and the
// outlier.Consecutive5xx-th failure in a row ejects it.
func (b *backend) failed(now int64, retryAfter time.Duration) { b.up.Failed(now, outlier, retryAfter) }

// unavailableSigner stands in for a signer whose credentials did not load:
// every attempt fails with a 503 that names no secret, so that routing can
// fail over to another backend.
type unavailableSigner struct{}

var _ auth.Signer = unavailableSigner{}

// Sign implements [auth.Signer.Sign].
func (unavailableSigner) Sign(context.Context, *schema.Upstream, auth.ClientCredentials) error {
	return schema.Errorf(fasthttp.StatusServiceUnavailable, schema.ErrUnavailable,
		"this backend's credentials could not be loaded; see the gateway's /config")
}
