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
	"github.com/switchyard-ai/switchyard/router/dialer"
	"github.com/valyala/fasthttp"
)

// Pool holds the live state of every static backend of a snapshot: endpoints, health,
// outlier state and connections. Build one per snapshot with NewPool; when a snapshot is
// replaced, build the next with Rebuild(old) so that endpoints that did not change keep
// their health state and connections, then Close the old one. A Pool is safe for
// concurrent use; Forward, Mirror and Status may run while another Pool is built.
type Pool struct {
	log      *slog.Logger
	backends map[string]*backend
	mirror   mirrorState
	streams  sync.Pool // *bodyStream
	stopCtx  func() bool
	dials    *dialer.Pool // shared with the pools rebuilt from this one

	mu     sync.Mutex
	closed bool
	owned  map[string]*endpointState // fingerprint -> state whose checker and conns this pool owns
	prev   *Pool                     // the pool this one was rebuilt from, while it is open
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

// NewPool builds the live state of the static backends among backends (others are
// ignored) and starts their health checkers, which stop on Close or when ctx ends.
// A nil log discards.
func NewPool(ctx context.Context, backends map[string]*config.Backend, log *slog.Logger) *Pool {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return build(ctx, backends, log, nil)
}

// Rebuild builds the Pool of a new snapshot from p: endpoints whose address, TLS,
// connection pool and health check did not change keep their state (health, outlier
// counters, connections, checker). Close p afterwards; if the new Pool is closed while
// p is still open, the kept state goes back to p.
func (p *Pool) Rebuild(ctx context.Context, backends map[string]*config.Backend) *Pool {
	return build(ctx, backends, p.log, p)
}

func build(ctx context.Context, backends map[string]*config.Backend, log *slog.Logger, prev *Pool) *Pool {
	p := &Pool{
		log:      log,
		backends: make(map[string]*backend, len(backends)),
		owned:    make(map[string]*endpointState),
		mirror:   newMirrorState(),
		dials:    dialer.New(0, 0),
	}
	var inherited map[string]*endpointState
	if prev != nil {
		inherited = prev.release()
		p.prev = prev
		p.dials = prev.dials
	}
	for key, b := range backends {
		if b == nil || b.Static == nil {
			continue
		}
		p.backends[key] = p.newBackend(key, b.Static, inherited)
	}
	// States inherited but no longer used go back to prev, which stops them on Close.
	if prev != nil {
		leftover := make(map[string]*endpointState)
		for fp, st := range inherited {
			if _, used := p.owned[fp]; !used {
				leftover[fp] = st
			}
		}
		if !prev.adopt(leftover) {
			stopStates(leftover)
		}
	}
	for _, st := range p.owned {
		st.startChecker(log)
	}
	p.stopCtx = context.AfterFunc(ctx, p.Close)
	return p
}

func (p *Pool) newBackend(key string, s *config.StaticBackend, inherited map[string]*endpointState) *backend {
	b := &backend{
		name:    key,
		lb:      s.LoadBalancer.Type,
		tls:     s.TLS != nil,
		outlier: s.OutlierDetection,
		members: make([]member, 0, len(s.Endpoints)),
	}
	for _, e := range s.Endpoints {
		fp := fingerprint(key, e, s)
		st := p.owned[fp]
		if st == nil {
			st = inherited[fp]
		}
		if st == nil {
			var err error
			st, err = newEndpointState(fp, e, s, p.dials)
			if err != nil {
				p.log.Error("upstream: endpoint disabled", "backend", key, "endpoint", st.addr, "error", err)
			}
		}
		p.owned[fp] = st
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

func deref[T any](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}

// release hands p's states to a successor; p keeps serving with them but no longer
// stops them on Close.
func (p *Pool) release() map[string]*endpointState {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	out := p.owned
	p.owned = make(map[string]*endpointState)
	return out
}

// adopt takes states back; false when p is already closed.
func (p *Pool) adopt(states map[string]*endpointState) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for fp, st := range states {
		p.owned[fp] = st
	}
	return true
}

// Close stops the health checkers and closes the idle connections of the endpoints
// this Pool owns (those not handed to a successor by Rebuild). Requests in flight
// finish. Close is idempotent.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	owned, prev := p.owned, p.prev
	p.owned, p.prev = nil, nil
	p.mu.Unlock()
	if p.stopCtx != nil {
		p.stopCtx()
	}
	if prev != nil && prev.adopt(owned) {
		return
	}
	stopStates(owned)
}

func stopStates(states map[string]*endpointState) {
	for _, st := range states {
		st.stop()
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

	healthy      atomic.Bool
	active       atomic.Int64
	consecutive  atomic.Int32 // consecutive failures seen by outlier detection
	ejections    atomic.Int32 // ejection count, the multiplier of the next ejection; decays, see eject
	ejectedUntil atomic.Int64 // monotonic nanoseconds, see nanotime

	checkMu sync.Mutex
	cancel  context.CancelFunc // stops the health checker
}
