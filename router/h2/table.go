package h2

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// ChainFunc builds the policy chain of a rule of route (namespace/name)
// with its effective policy attachments; the router supplies it.
type ChainFunc func(route string, p config.Policies) (*policies.Chain, error)

// Table is one snapshot's GRPCRoutes by port, compiled once; immutable and
// safe for concurrent use.
type Table struct {
	ports map[int][]*entry
	// MaxMessageBytes bounds one request message (server.maxBodyBytes).
	MaxMessageBytes int
}

// entry is one match of one rule under one route hostname, in precedence order.
type entry struct {
	host     string // exact host, ".suffix" for a wildcard, "" for any
	wildcard bool
	match    config.GRPCMatch
	service  *regexp.Regexp // RegularExpression matches
	method   *regexp.Regexp
	headers  []headerMatch
	rule     *Rule
	key      string // namespace.name.rule.match
	order    int
}

type headerMatch struct {
	name  string
	value string
	re    *regexp.Regexp
}

// Rule is one compiled GRPCRoute rule.
type Rule struct {
	Key      string // namespace.name.rule
	Route    string // namespace/name
	cfg      *config.GRPCRule
	backends []*backend
	total    int
	chain    *policies.Chain
	retry    map[int]bool // retried gRPC codes
	attempts int
	backoff  time.Duration
	request  time.Duration
	perTry   time.Duration
	reqMod   []*config.HeaderModifier
	respMod  []*config.HeaderModifier
}

// backend is a static gRPC backend of a rule.
type backend struct {
	name    string
	weight  int
	members []member
	total   int
	outlier *config.OutlierDetection
	tls     bool
}

type member struct {
	ep     *endpoint
	weight int
}

// endpoint is one backend address with its HTTP/2 client and passive
// health, kept across reloads by identity.
type endpoint struct {
	addr      string
	transport *http.Transport
	healthy   atomic.Bool
	checker   *upstream.Checker
	upstream.Ejection
}

// Compile builds the GRPCRoutes of snap. chain builds each rule's policies.
func Compile(snap *config.Snapshot, gen *upstream.Generation, chain ChainFunc, log *slog.Logger) (*Table, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Table{ports: map[int][]*entry{}, MaxMessageBytes: snap.Config.Server.MaxBodyBytes}
	ports := map[string]int{}
	for _, l := range snap.Listeners {
		ports[l.Key] = l.Listener.Port
	}
	order := 0
	for i := range snap.Config.GRPCRoutes {
		st := snap.GRPCRoutes[i]
		if st.Disabled {
			continue
		}
		rt := &snap.Config.GRPCRoutes[i]
		ns, name := config.SplitName(rt.Name)
		k := 0
		for ri := range rt.Rules {
			rule, err := compileRule(snap, gen, rt, ri, chain, log)
			if err != nil {
				log.Error("gRPC rule disabled", "rule", fmt.Sprintf("%s.%s.%d", ns, name, ri), "err", err.Error())
				k += len(rt.Rules[ri].Matches)
				continue
			}
			for _, m := range rt.Rules[ri].Matches {
				base := entry{match: m, rule: rule, key: st.RuleKeys[k], order: order}
				k++
				order++
				if err := base.compileMatch(); err != nil {
					return nil, err
				}
				hosts := rt.Hostnames
				if len(hosts) == 0 {
					hosts = []string{""}
				}
				for _, h := range hosts {
					e := base
					e.host = strings.ToLower(strings.TrimSuffix(h, "."))
					if s, ok := strings.CutPrefix(e.host, "*"); ok {
						e.host, e.wildcard = s, true
					}
					for _, lk := range st.Listeners {
						p := ports[lk]
						ee := e
						t.ports[p] = append(t.ports[p], &ee)
					}
				}
			}
		}
	}
	for _, es := range t.ports {
		sort.SliceStable(es, func(i, j int) bool { return es[i].before(es[j]) })
	}
	return t, nil
}

// before orders entries by GRPCRoute precedence: an exact hostname over a
// wildcard over none (longer first), then the longest service, the longest
// method, the most header matches, then configuration order.
func (e *entry) before(o *entry) bool {
	rank := func(x *entry) int {
		switch {
		case x.host == "":
			return 0
		case x.wildcard:
			return 1
		}
		return 2
	}
	if a, b := rank(e), rank(o); a != b {
		return a > b
	}
	if len(e.host) != len(o.host) {
		return len(e.host) > len(o.host)
	}
	es, em := methodLens(e.match)
	os, om := methodLens(o.match)
	if es != os {
		return es > os
	}
	if em != om {
		return em > om
	}
	if len(e.headers) != len(o.headers) {
		return len(e.headers) > len(o.headers)
	}
	return e.order < o.order
}

func methodLens(m config.GRPCMatch) (int, int) {
	if m.Method == nil {
		return 0, 0
	}
	return len(m.Method.Service), len(m.Method.Method)
}

func (e *entry) compileMatch() error {
	if m := e.match.Method; m != nil && m.Type == config.GRPCMatchRegularExpression {
		var err error
		if m.Service != "" {
			if e.service, err = regexp.Compile("^(?:" + m.Service + ")$"); err != nil {
				return fmt.Errorf("h2: service regexp: %w", err)
			}
		}
		if m.Method != "" {
			if e.method, err = regexp.Compile("^(?:" + m.Method + ")$"); err != nil {
				return fmt.Errorf("h2: method regexp: %w", err)
			}
		}
	}
	for _, h := range e.match.Headers {
		hm := headerMatch{name: http.CanonicalHeaderKey(h.Name), value: h.Value}
		if h.Type == config.MatchRegularExpression {
			re, err := regexp.Compile("^(?:" + h.Value + ")$")
			if err != nil {
				return fmt.Errorf("h2: header regexp: %w", err)
			}
			hm.re = re
		}
		e.headers = append(e.headers, hm)
	}
	return nil
}

// matches reports whether the call service/method with header h on host fits e.
func (e *entry) matches(host, service, method string, h http.Header) bool {
	switch {
	case e.host == "":
	case e.wildcard:
		if len(host) <= len(e.host) || !strings.HasSuffix(host, e.host) {
			return false
		}
	case host != e.host:
		return false
	}
	if m := e.match.Method; m != nil {
		if m.Type == config.GRPCMatchRegularExpression {
			if e.service != nil && !e.service.MatchString(service) || e.method != nil && !e.method.MatchString(method) {
				return false
			}
		} else if m.Service != "" && m.Service != service || m.Method != "" && m.Method != method {
			return false
		}
	}
	for _, hm := range e.headers {
		vs := h.Values(hm.name)
		ok := false
		for _, v := range vs {
			if hm.re != nil && hm.re.MatchString(v) || hm.re == nil && v == hm.value {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// Lookup finds the rule for a call on port: path is /service/method, host
// the :authority.
func (t *Table) Lookup(port int, host, path string, h http.Header) (*Rule, string) {
	if t == nil {
		return nil, ""
	}
	service, method, ok := splitPath(path)
	if !ok {
		return nil, ""
	}
	host = canonHost(host)
	for _, e := range t.ports[port] {
		if e.matches(host, service, method, h) {
			return e.rule, e.key
		}
	}
	return nil, ""
}

// Serves reports whether t has GRPCRoutes on port.
func (t *Table) Serves(port int) bool { return t != nil && len(t.ports[port]) > 0 }

func splitPath(p string) (service, method string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return "", "", false
	}
	service, method, ok = strings.Cut(rest, "/")
	return service, method, ok && service != "" && method != "" && !strings.Contains(method, "/")
}

func canonHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// compileRule builds one rule: backends, policies, retry and filters.
func compileRule(snap *config.Snapshot, gen *upstream.Generation, rt *config.GRPCRoute, ri int, chain ChainFunc, log *slog.Logger) (*Rule, error) {
	cr := &rt.Rules[ri]
	ns, name := config.SplitName(rt.Name)
	r := &Rule{Key: fmt.Sprintf("%s.%s.%d", ns, name, ri), Route: rt.Name, cfg: cr, retry: map[int]bool{}}
	var pol config.Policies
	for _, p := range []*config.Policies{rt.Policies, cr.Policies} {
		if p == nil {
			continue
		}
		if p.ClientAuth != nil {
			pol.ClientAuth = p.ClientAuth
		}
		if p.RateLimits != nil {
			pol.RateLimits = p.RateLimits
		}
	}
	if chain != nil {
		c, err := chain(rt.Name, pol)
		if err != nil {
			return nil, fmt.Errorf("h2: policies: %w", err)
		}
		r.chain = c
	}
	if t := cr.Timeouts; t != nil {
		r.request, r.perTry = t.Request.D(), t.BackendRequest.D()
	}
	if rr := cr.Retry; rr != nil {
		r.attempts, r.backoff = rr.Attempts, rr.Backoff.D()
		for _, c := range rr.Codes {
			r.retry[config.GRPCCode(c)] = true
		}
	}
	for _, f := range cr.Filters {
		if f.RequestHeaderModifier != nil {
			r.reqMod = append(r.reqMod, f.RequestHeaderModifier)
		}
		if f.ResponseHeaderModifier != nil {
			r.respMod = append(r.respMod, f.ResponseHeaderModifier)
		}
	}
	for _, ref := range cr.BackendRefs {
		cb := snap.Backends[ref.Name]
		if cb == nil || cb.Static == nil || *ref.Weight == 0 {
			continue
		}
		s := cb.Static
		b := &backend{name: ref.Name, weight: *ref.Weight, outlier: s.OutlierDetection, tls: s.TLS != nil}
		for _, e := range s.Endpoints {
			ep, err := endpointOf(gen, ref.Name, e, s)
			if err != nil {
				log.Error("gRPC endpoint disabled", "backend", ref.Name, "err", err.Error())
				continue
			}
			w := max(e.Weight, 1)
			b.members = append(b.members, member{ep: ep, weight: w})
			b.total += w
		}
		r.backends = append(r.backends, b)
		r.total += b.weight
	}
	return r, nil
}

// endpointOf takes an endpoint's state and client from gen.
func endpointOf(gen *upstream.Generation, backend string, e config.Endpoint, s *config.StaticBackend) (*endpoint, error) {
	addr := net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
	var hc any
	if s.HealthCheck != nil {
		hc = *s.HealthCheck
	}
	id := fmt.Sprintf("grpc|%s|%s|%+v|%+v|%s|%+v", backend, addr, s.ConnectionPool, derefTLS(s.TLS), upstream.CADigest(s.TLS), hc)
	v, err := gen.Get(id, func() (any, func(), error) {
		tr, err := transport(addr, s)
		if err != nil {
			return nil, nil, err
		}
		ep := &endpoint{addr: addr, transport: tr}
		ep.healthy.Store(true)
		if hc := s.HealthCheck; hc != nil {
			// A connect probe, as for TCP routes: the gRPC health service
			// is the backend's to expose, not every server has it.
			ep.checker = upstream.StartChecker(hc, addr, &ep.healthy, upstream.ConnectProbe(addr), slog.New(slog.DiscardHandler))
		}
		return ep, func() { ep.checker.Stop(); tr.CloseIdleConnections() }, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*endpoint), nil
}

func derefTLS(t *config.BackendTLS) any {
	if t == nil {
		return nil
	}
	return *t
}

// transport is an HTTP/2 client for one endpoint: h2c (prior knowledge),
// or TLS with ALPN h2; never HTTP/1.1 (gRPC needs trailers).
func transport(addr string, s *config.StaticBackend) (*http.Transport, error) {
	dialer := &net.Dialer{Timeout: s.ConnectionPool.ConnectTimeout.D(), KeepAlive: 30 * time.Second}
	// Every call to the endpoint goes to addr, whatever its :authority.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}
	idle := s.ConnectionPool.MaxIdleTime.D()
	if s.TLS == nil {
		return upstream.HTTP2Transport(dial, 0, idle, nil), nil
	}
	host, _, _ := net.SplitHostPort(addr)
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if s.TLS.ServerName != "" {
		conf.ServerName = s.TLS.ServerName
	}
	conf.InsecureSkipVerify = s.TLS.InsecureSkipVerify //nolint:gosec // an explicit, documented test-only setting
	if s.TLS.CAFile != "" {
		pem, err := os.ReadFile(s.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("h2: read caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("h2: caFile holds no PEM certificate")
		}
		conf.RootCAs = pool
	}
	return upstream.HTTP2Transport(dial, 0, idle, conf), nil
}
