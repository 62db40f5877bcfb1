// Package upstream forwards requests to static backends: it keeps, per snapshot, the
// endpoints of every static backend with their health (active checks), outlier state
// (passive ejection) and connection pools, picks an endpoint by weight and load, and
// forwards with per-attempt timeouts, retries and a streamed response body. It also
// mirrors requests fire-and-forget.
//
// Endpoint selection: healthy, non-ejected endpoints are preferred; when every healthy
// endpoint is ejected, ejected ones are used (ejection is a soft signal, the cap keeps
// one in). There is no panic mode for active health checks: an endpoint starts healthy
// (nothing is known yet) and is marked down only after unhealthyThreshold failed checks,
// so when every endpoint is marked down the backend answers 503.
//
// Request bodies: the fasthttp server normally buffers the body, so retries resend it.
// When the server streams request bodies (StreamRequestBody) and the body is a stream,
// it is sent once and the request is never retried.
package upstream

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/valyala/fasthttp"
)

// Pool is the static backends of one snapshot: for each, its endpoints in
// configured order with their weights, over endpoint states (health, outlier
// counters, connections, health checker) drawn from a State by identity, so
// that a reload that keeps an endpoint keeps its state. A Pool is immutable
// and safe for concurrent use; Forward, Mirror and Status may run while the
// next snapshot's Pool is built.
type Pool struct {
	log      *slog.Logger
	backends map[string]*backend
	mirror   mirrorState
	streams  sync.Pool // *bodyStream
	// own is the State a standalone Pool (NewPool) made for itself and
	// closes on Close; nil for a Pool built from a shared State.
	own     *State
	stopCtx func() bool
}

// backend is one static backend of a snapshot.
type backend struct {
	name    string
	lb      string
	members []member
	tls     bool
	outlier *config.OutlierDetection

	rrMu    sync.Mutex // guards members[].current (smooth weighted round robin)
	ejectMu sync.Mutex // serialises ejection decisions
}

// member is an endpoint as one snapshot sees it: its shared state and its weight.
type member struct {
	st      *endpointState
	weight  int
	current int
}

// EndpointStatus is the health of one endpoint, for /config and tests.
type EndpointStatus struct {
	// Address is host:port.
	Address string `json:"address"`
	// Healthy is the active health check's verdict (true until a check says otherwise).
	Healthy bool `json:"healthy"`
	// Ejected is true while passive outlier detection keeps the endpoint out.
	Ejected bool `json:"ejected"`
	// Active is the number of requests in flight, response streams included.
	Active int64 `json:"active"`
}

// NewPool builds a standalone Pool over a State of its own (tests and tools):
// Close, or the end of ctx, stops its health checkers and closes its
// connections. A nil log discards.
func NewPool(ctx context.Context, backends map[string]*config.Backend, log *slog.Logger) *Pool {
	st := NewState()
	gen := st.Begin()
	p := BuildPool(gen, backends, log)
	gen.Commit()
	p.own = st
	p.stopCtx = context.AfterFunc(ctx, p.Close)
	return p
}

// BuildPool builds the Pool of the static backends among backends (others
// are ignored) with endpoint states taken from gen's State: an endpoint whose
// address, TLS settings (CA file contents included), connection pool and
// health check did not change since a previous generation keeps its state
// and health checker; a new one starts its checker. A nil log discards.
func BuildPool(gen *Generation, backends map[string]*config.Backend, log *slog.Logger) *Pool {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{
		log:      log,
		backends: make(map[string]*backend, len(backends)),
		mirror:   newMirrorState(),
	}
	for key, b := range backends {
		if b == nil || b.Static == nil {
			continue
		}
		p.backends[key] = p.newBackend(gen, key, b.Static)
	}
	return p
}

func (p *Pool) newBackend(gen *Generation, key string, s *config.StaticBackend) *backend {
	b := &backend{
		name:    key,
		lb:      s.LoadBalancer.Type,
		tls:     s.TLS != nil,
		outlier: s.OutlierDetection,
		members: make([]member, 0, len(s.Endpoints)),
	}
	for _, e := range s.Endpoints {
		fp := fingerprint(key, e, s)
		v, _ := gen.Get("static|"+fp, func() (any, func(), error) {
			st, err := newEndpointState(fp, e, s, gen.Dials())
			if err != nil {
				p.log.Error("upstream: endpoint disabled", "backend", key, "endpoint", st.addr, "error", err)
			}
			st.startChecker(p.log)
			return st, st.stop, nil
		})
		st := v.(*endpointState)
		w := e.Weight
		if w <= 0 {
			w = 1
		}
		b.members = append(b.members, member{st: st, weight: w})
	}
	return b
}

// fingerprint identifies an endpoint's reusable state: backend, address and every
// setting that shapes its client or checker, including the contents of the TLS CA
// file, so that a reload after the CA was replaced at the same path trusts the new one.
func fingerprint(key string, e config.Endpoint, s *config.StaticBackend) string {
	return fmt.Sprintf("%s|%s:%d|%+v|%+v|%s|%+v", key, e.Host, e.Port, s.ConnectionPool, deref(s.TLS), caDigest(s.TLS), deref(s.HealthCheck))
}

// caDigest is a digest of the CA file's contents, or the error reading it.
func caDigest(t *config.BackendTLS) string {
	if t == nil || t.CAFile == "" {
		return ""
	}
	data, err := os.ReadFile(t.CAFile)
	if err != nil {
		return "error: " + err.Error()
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// CADigest is a digest of a backend TLS setting's CA file contents ("" when
// none), for identities of upstream state.
func CADigest(t *config.BackendTLS) string { return caDigest(t) }

func deref[T any](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}

// Close releases a standalone Pool's State (see NewPool); for a Pool built
// from a shared State it does nothing: the State retires what no snapshot
// uses. Requests in flight finish. Close is idempotent.
func (p *Pool) Close() {
	if p.stopCtx != nil {
		p.stopCtx()
	}
	if p.own != nil {
		p.own.Close()
	}
}

// Status reports every static backend's endpoints, by backend key, in config order.
func (p *Pool) Status() map[string][]EndpointStatus {
	now := nanotime()
	out := make(map[string][]EndpointStatus, len(p.backends))
	for key, b := range p.backends {
		list := make([]EndpointStatus, 0, len(b.members))
		for i := range b.members {
			st := b.members[i].st
			list = append(list, EndpointStatus{
				Address: st.addr,
				Healthy: st.healthy.Load(),
				Ejected: st.ejectedUntil.Load() > now,
				Active:  st.active.Load(),
			})
		}
		out[key] = list
	}
	return out
}

// Backends lists the static backend keys the Pool serves, sorted.
func (p *Pool) Backends() []string {
	keys := make([]string, 0, len(p.backends))
	for k := range p.backends {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// endpointState is the state of one endpoint shared by the Pools of successive
// snapshots while the endpoint does not change.
type endpointState struct {
	fp     string
	addr   string
	client *fasthttp.HostClient // nil when the endpoint could not be set up (e.g. bad CA file)
	conns  connRegistry
	hc     *config.HealthCheck
	tls    bool

	tlsConf        *tls.Config
	connectTimeout time.Duration

	healthy atomic.Bool
	active  atomic.Int64
	Ejection

	checkMu     sync.Mutex
	checker     *Checker             // the active health checker, nil without one
	checkClient *fasthttp.HostClient // the checker's own connection
}
