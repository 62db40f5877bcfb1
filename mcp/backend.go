package mcp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// Defaults of an mcp backend.
const (
	defaultMaxMessage = 4 << 20
	defaultTimeout    = 60 * time.Second
	defaultTTL        = 24 * time.Hour
)

// Backend is one mcp backend: the virtual server over its targets. It is
// safe for concurrent use and lives until Close.
type Backend struct {
	name       string
	members    []*member
	byName     map[string]*member
	seal       *sealer
	access     access
	prefix     string
	maxMessage int
	maxBatch   int
	timeout    time.Duration
	resource   *config.ProtectedResource
	log        *slog.Logger
	// problems are targets that could not be built, by name.
	problems map[string]string
	onCall   CallObserver
	sse      sseStreams
	// listeners are the open standalone streams; keepAlive paces their
	// keep-alive comments; done ends them when the backend closes.
	listeners listeners
	keepAlive time.Duration
	done      chan struct{}
	closeOnce sync.Once
}

// Options are what a Backend needs of the process.
type Options struct {
	// Log receives warnings and the stdio targets' stderr.
	Log *slog.Logger
	// Context bounds loading OpenAPI documents.
	Context context.Context
	// OnCall, when set, is told of every call routed to a target.
	OnCall CallObserver
}

// New builds the backend name (namespace/name) from cfg, starting its stdio
// targets and loading its OpenAPI documents. A target that cannot be built
// is left out and reported by Problems; a configuration that cannot work at
// all (a tool access rule that does not compile) is an error.
func New(name string, cfg *config.MCPBackend, opts Options) (*Backend, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	b := &Backend{name: name, byName: map[string]*member{}, prefix: cfg.PrefixMode, maxMessage: cfg.MaxMessageBytes,
		maxBatch: cfg.MaxBatch, timeout: cfg.Timeout.D(), resource: cfg.ProtectedResource, log: log, problems: map[string]string{}, onCall: opts.OnCall,
		sse: sseStreams{m: map[string]*sseStream{}}, listeners: listeners{m: map[*listener]struct{}{}},
		keepAlive: sseKeepAlive, done: make(chan struct{})}
	if b.prefix == "" {
		b.prefix = config.PrefixConditional
	}
	if b.maxMessage <= 0 {
		b.maxMessage = defaultMaxMessage
	}
	if b.timeout <= 0 {
		b.timeout = defaultTimeout
	}
	ttl := cfg.SessionTTL.D()
	if ttl <= 0 {
		ttl = defaultTTL
	}
	var err error
	if b.seal, err = newSealer(string(cfg.SessionKey), name, ttl); err != nil {
		return nil, err
	}
	if b.access, err = newAccess(cfg.ToolAccess); err != nil {
		return nil, err
	}
	client := newHTTPClient()
	for i := range cfg.Targets {
		tc := &cfg.Targets[i]
		m := &member{name: tc.Name, auth: tc.Auth}
		if m.filter, err = newNameFilter(tc.Tools); err != nil {
			b.Close()
			return nil, fmt.Errorf("mcp: target %s: %w", tc.Name, err)
		}
		switch {
		case tc.Stdio != nil:
			m.t, err = newStdioTarget(tc.Name, tc.Stdio, b.timeout, log, b.broadcastChanged)
		case tc.OpenAPI != nil:
			m.t, err = newOpenAPITarget(ctx, tc.Name, tc.OpenAPI, &m.auth, client, b.timeout, log)
		case tc.Transport == config.MCPTransportSSE:
			m.t = newSSETarget(tc.Name, tc.URL, client, &m.auth, b.timeout, log, b.broadcastChanged)
		default:
			m.t = &httpTarget{url: tc.URL, client: client, auth: &m.auth, timeout: b.timeout}
		}
		if err != nil {
			log.Error("mcp: target left out", "backend", name, "target", tc.Name, "err", err.Error())
			b.problems[tc.Name] = err.Error()
			continue
		}
		b.members = append(b.members, m)
		b.byName[m.name] = m
	}
	return b, nil
}

// Name is the backend's namespace/name.
func (b *Backend) Name() string { return b.name }

// Problems are the targets left out and why, by target name.
func (b *Backend) Problems() map[string]string { return b.problems }

// Close ends the backend's standalone streams and stops its child processes.
func (b *Backend) Close() {
	b.closeOnce.Do(func() { close(b.done) })
	for _, m := range b.members {
		m.t.stop()
	}
}

// newHTTPClient is the client of a backend's remote targets and APIs.
func newHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 0, // bounded by each call's context
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CallObserver is told of every call routed to a target: its backend,
// target, tool (as the target knows it), result (ok or error) and duration.
type CallObserver func(backend, target, tool, result string, d time.Duration)
