package l4

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// endpoint is one backend address's state, shared by the snapshots that
// keep it: active health (a connect probe), passive ejection and the
// connections open to it.
type endpoint struct {
	addr    string
	healthy atomic.Bool
	active  atomic.Int64
	upstream.Ejection
	checker *upstream.Checker
}

func (e *endpoint) stop() { e.checker.Stop() }

// backend is a static backend as one route sees it.
type backend struct {
	name    string
	weight  int
	members []member
	total   int
	outlier *config.OutlierDetection
	ejectMu sync.Mutex
}

type member struct {
	ep     *endpoint
	weight int
}

// endpoints builds routes' backends from a generation.
type endpoints struct {
	gen *upstream.Generation
	log *slog.Logger
	err error
}

// route compiles one TCP or TLS route rule.
func (b *endpoints) route(snap *config.Snapshot, name, key string, rule *config.L4Rule) *Route {
	r := &Route{Key: key, Name: name, rule: rule, proxy: rule.ProxyProtocol, idle: rule.Timeouts.Idle.D(), connect: rule.Timeouts.Connect.D()}
	for _, ref := range rule.BackendRefs {
		cb := snap.Backends[ref.Name]
		if cb == nil || cb.Static == nil || *ref.Weight == 0 {
			continue
		}
		s := cb.Static
		be := &backend{name: ref.Name, weight: *ref.Weight, outlier: s.OutlierDetection}
		for _, e := range s.Endpoints {
			ep := b.endpoint(ref.Name, e, s)
			if ep == nil {
				continue
			}
			w := max(e.Weight, 1)
			be.members = append(be.members, member{ep: ep, weight: w})
			be.total += w
		}
		if r.connect <= 0 {
			r.connect = s.ConnectionPool.ConnectTimeout.D()
		}
		r.backends = append(r.backends, be)
		r.total += be.weight
	}
	if r.connect <= 0 {
		r.connect = 5 * time.Second
	}
	return r
}

// endpoint takes an endpoint's state from the generation, starting its
// connect check when its backend has a health check.
func (b *endpoints) endpoint(backend string, e config.Endpoint, s *config.StaticBackend) *endpoint {
	addr := addrOf(e)
	id := fmt.Sprintf("l4|%s|%s|%+v", backend, addr, derefHC(s.HealthCheck))
	v, err := b.gen.Get(id, func() (any, func(), error) {
		ep := &endpoint{addr: addr}
		ep.healthy.Store(true)
		if hc := s.HealthCheck; hc != nil {
			ep.checker = upstream.StartChecker(hc, addr, &ep.healthy, func(ctx context.Context, to time.Duration) bool {
				d := net.Dialer{Timeout: to}
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					return false
				}
				_ = c.Close()
				return true
			}, b.log)
		}
		return ep, ep.stop, nil
	})
	if err != nil {
		b.err = errors.Join(b.err, err)
		return nil
	}
	return v.(*endpoint)
}

func derefHC(h *config.HealthCheck) any {
	if h == nil {
		return nil
	}
	return *h
}

// candidates returns the endpoints to try for one connection, best first:
// a backend by weight, then its available endpoints by weight, then the
// other backends' available ones; endpoints that are healthy but ejected
// come last (ejection is a soft signal), unhealthy ones never.
func (r *Route) candidates(buf []*pick) []*pick {
	now := upstream.Now()
	order := make([]*backend, 0, len(r.backends))
	if len(r.backends) > 0 {
		first := r.pickBackend()
		order = append(order, first)
		for _, b := range r.backends {
			if b != first {
				order = append(order, b)
			}
		}
	}
	var ejected []*pick
	for _, b := range order {
		for _, m := range b.shuffled() {
			if !m.ep.healthy.Load() {
				continue
			}
			p := &pick{backend: b, ep: m.ep}
			if m.ep.Available(now) {
				buf = append(buf, p)
			} else {
				ejected = append(ejected, p)
			}
		}
	}
	return append(buf, ejected...)
}

// pick is one endpoint to try.
type pick struct {
	backend *backend
	ep      *endpoint
}

// pickBackend chooses a backend by weight.
func (r *Route) pickBackend() *backend {
	if r.total <= 0 {
		return r.backends[0]
	}
	n := rand.IntN(r.total)
	for _, b := range r.backends {
		if n < b.weight {
			return b
		}
		n -= b.weight
	}
	return r.backends[len(r.backends)-1]
}

// shuffled orders a backend's members by weighted random choice without
// replacement.
func (b *backend) shuffled() []member {
	ms := append([]member(nil), b.members...)
	total := b.total
	for i := range ms {
		if total <= 0 {
			break
		}
		n := rand.IntN(total)
		j := i
		for ; j < len(ms)-1; j++ {
			if n < ms[j].weight {
				break
			}
			n -= ms[j].weight
		}
		ms[i], ms[j] = ms[j], ms[i]
		total -= ms[i].weight
	}
	return ms
}

// failed records a connect failure; with outlier detection, enough in a row
// eject the endpoint (never the last of its backend, at most
// maxEjectionPercent of it).
func (b *backend) failed(ep *endpoint) bool {
	now := upstream.Now()
	b.ejectMu.Lock()
	defer b.ejectMu.Unlock()
	ejected := 0
	for _, m := range b.members {
		if m.ep.Ejected(now) {
			ejected++
		}
	}
	return ep.FailedAmong(now, b.outlier, len(b.members), ejected)
}

// dial connects to the first candidate that answers within the route's
// connect timeout, recording failures and successes.
func (r *Route) dial(ctx context.Context, log *slog.Logger) (net.Conn, *pick, int, error) {
	var buf [8]*pick
	cands := r.candidates(buf[:0])
	if len(cands) == 0 {
		return nil, nil, 0, errNoEndpoint
	}
	var lastErr error
	for i, p := range cands {
		d := net.Dialer{Timeout: r.connect}
		c, err := d.DialContext(ctx, "tcp", p.ep.addr)
		if err == nil {
			p.ep.Succeeded()
			return c, p, i + 1, nil
		}
		lastErr = err
		if p.backend.failed(p.ep) {
			log.Warn("l4: endpoint ejected after connect failures", "route", r.Key, "backend", p.backend.name, "endpoint", p.ep.addr)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, cands[len(cands)-1], len(cands), fmt.Errorf("l4: connect: %w", lastErr)
}

var errNoEndpoint = errors.New("l4: no healthy endpoint")
