package ai

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/dialer"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// Health tuning: a backend failing ejectAfter times in a row is skipped for ejectFor.
const (
	ejectAfter = 3
	ejectFor   = 30 * time.Second
	// defaultTimeout bounds an attempt to its response headers when ai.timeout is unset.
	defaultTimeout = 60 * time.Second
	// defaultMaxConns per upstream host when ai.maxConnections is unset.
	defaultMaxConns = 1024
	// maxResponseBytes bounds a buffered (non-streamed) upstream response.
	maxResponseBytes = 256 << 20
)

// backend is one AI backend with its adapter, signer, client and health.
type backend struct {
	key, short string
	cfg        *config.AIBackend
	adapter    providers.Adapter
	direct     providers.Direct
	// passthrough is true for OpenAI-shaped adapters: the body is not decoded.
	passthrough bool
	signer      auth.Signer
	client      *fasthttp.Client
	models      map[string]bool
	timeout     time.Duration
	// streamIdle bounds the wait for each read of a streamed upstream body
	// once its headers have arrived.
	streamIdle time.Duration

	// problem says why the backend cannot serve (credentials that did not load), "" when it can.
	problem string

	mu         sync.Mutex
	skipUntil  time.Time // Retry-After or ejection
	consecFail int
}

func newBackend(key string, cfg *config.AIBackend, adapters map[string]providers.Adapter,
	directs map[string]providers.Direct, signers func(*config.AIBackend) (auth.Signer, error), dials *dialer.Pool,
) (*backend, error) {
	a := adapters[cfg.Provider]
	d := directs[cfg.Provider]
	if d == nil {
		d, _ = a.(providers.Direct)
	}
	if a == nil && d == nil {
		return nil, fmt.Errorf("no adapter for provider %q", cfg.Provider)
	}
	b := &backend{key: key, short: key, cfg: cfg, adapter: a, direct: d, models: map[string]bool{}, timeout: cfg.Timeout.D()}
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		b.short = key[i+1:]
	}
	switch cfg.Provider {
	case config.ProviderOpenAI, config.ProviderAzure, config.ProviderOpenAICompatible:
		b.passthrough = true
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
	if b.direct != nil {
		return b, nil
	}
	var s auth.Signer
	if signers != nil {
		var err error
		if s, err = signers(cfg); err != nil {
			// The backend stays configured but answers 503 until a reload
			// brings usable credentials; the cause goes to /config and the log.
			b.problem = fmt.Sprintf("credentials cannot be loaded: %v", err)
			s = unavailableSigner{}
		}
	}
	if s == nil {
		var err error
		if s, err = defaultSigner(cfg); err != nil {
			return nil, err
		}
	}
	// The TLS settings are read once per snapshot (validation has checked the
	// CA file; one replaced since by garbage makes the backend unavailable).
	tlsConf, err := upstream.ClientTLS(cfg.TLS, "")
	if err != nil {
		b.problem = fmt.Sprintf("TLS settings cannot be used: %v", err)
		s, tlsConf = unavailableSigner{}, &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	b.signer = s
	maxConns := cfg.MaxConnections
	if maxConns <= 0 {
		maxConns = defaultMaxConns
	}
	b.client = &fasthttp.Client{
		Name:                          "switchyard",
		MaxConnsPerHost:               maxConns,
		MaxIdleConnDuration:           90 * time.Second,
		MaxResponseBodySize:           maxResponseBytes,
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		ConfigureClient:               configureHostClient(tlsConf, dials),
	}
	return b, nil
}

// defaultSigner puts the backend's key in the provider's header, forwards the
// client's credential (passthrough), or signs nothing.
func defaultSigner(cfg *config.AIBackend) (auth.Signer, error) {
	header, prefix := "Authorization", "Bearer "
	switch cfg.Provider {
	case config.ProviderAzure:
		header, prefix = "api-key", ""
	case config.ProviderAnthropic:
		header, prefix = "x-api-key", ""
	case config.ProviderGemini:
		header, prefix = "x-goog-api-key", ""
	}
	if cfg.Auth.Passthrough {
		return auth.NewPassthroughSigner(header, prefix), nil
	}
	key, err := auth.ResolveKey(cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	if key == "" {
		return auth.NoneSigner{}, nil
	}
	return auth.NewKeySigner(header, prefix, key), nil
}

func (b *backend) close() {
	if b.client != nil {
		b.client.CloseIdleConnections()
	}
}

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

// healthy reports whether b may be tried now.
func (b *backend) healthy(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !now.Before(b.skipUntil)
}

// succeeded resets the failure count.
func (b *backend) succeeded() {
	b.mu.Lock()
	b.consecFail = 0
	b.mu.Unlock()
}

// failed counts a failure; retryAfter > 0 skips b for that long, and the
// ejectAfter-th failure in a row ejects it for ejectFor.
func (b *backend) failed(now time.Time, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.consecFail++
	until := time.Time{}
	if retryAfter > 0 {
		until = now.Add(retryAfter)
	}
	if b.consecFail >= ejectAfter {
		if e := now.Add(ejectFor); e.After(until) {
			until = e
		}
		b.consecFail = 0
	}
	if until.After(b.skipUntil) {
		b.skipUntil = until
	}
}

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
