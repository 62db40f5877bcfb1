package config

import (
	"strings"
	"time"
)

// Default values applied to zero fields.
const (
	DefaultNamespace = "default"
	DefaultGateway   = "switchyard"
	DefaultAddress   = "0.0.0.0"
)

// DefaultServer returns the server limits used for zero fields.
func DefaultServer() Server {
	on := true
	return Server{
		MaxHeaderBytes:     16384,
		MaxBodyBytes:       32 << 20,
		ReadTimeout:        Duration(30 * time.Second),
		StreamWriteTimeout: Duration(30 * time.Second),
		IdleTimeout:        Duration(90 * time.Second),
		DrainTimeout:       Duration(30 * time.Second),
		AccessLog:          &on,
	}
}

// SplitName splits "ns/name"; a bare "name" gives ("default", "name").
func SplitName(s string) (ns, name string) {
	if ns, name, ok := strings.Cut(s, "/"); ok {
		return ns, name
	}
	return DefaultNamespace, s
}

// qualify returns s as namespace/name, taking ns when s has no namespace.
func qualify(s, ns string) string {
	if s == "" || strings.Contains(s, "/") {
		return s
	}
	return ns + "/" + s
}

// setDefault sets *p to v when *p is the zero value.
func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// applyDefaults fills zero fields of c in place.
func applyDefaults(c *Config) {
	def := DefaultServer()
	s := &c.Server
	setDefault(&s.MaxHeaderBytes, def.MaxHeaderBytes)
	setDefault(&s.MaxBodyBytes, def.MaxBodyBytes)
	setDefault(&s.ReadTimeout, def.ReadTimeout)
	setDefault(&s.StreamWriteTimeout, def.StreamWriteTimeout)
	setDefault(&s.IdleTimeout, def.IdleTimeout)
	setDefault(&s.DrainTimeout, def.DrainTimeout)
	if s.AccessLog == nil {
		s.AccessLog = def.AccessLog
	}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		setDefault(&l.Namespace, DefaultNamespace)
		setDefault(&l.Gateway, DefaultGateway)
		setDefault(&l.Address, DefaultAddress)
		setDefault(&l.Protocol, ProtocolHTTP)
		if l.TLS != nil {
			setDefault(&l.TLS.Mode, TLSModeTerminate)
		}
	}
	for i := range c.Routes {
		defaultRoute(&c.Routes[i])
	}
	for i := range c.Backends {
		defaultBackend(&c.Backends[i])
	}
	if c.Access != nil {
		defaultAccess(c.Access)
	}
	for i := range c.TCPRoutes {
		defaultL4(&c.TCPRoutes[i].Name, c.TCPRoutes[i].Rules)
	}
	for i := range c.TLSRoutes {
		defaultL4(&c.TLSRoutes[i].Name, c.TLSRoutes[i].Rules)
	}
	for i := range c.GRPCRoutes {
		defaultGRPCRoute(&c.GRPCRoutes[i])
	}
}

// TLS modes of a listener.
const (
	TLSModeTerminate   = "Terminate"
	TLSModePassthrough = "Passthrough"
)

// defaultRoute fills a route's zero fields.
func defaultRoute(r *Route) {
	r.Name = qualify(r.Name, DefaultNamespace)
	defaultPolicies(r.Policies)
	for i := range r.Rules {
		defaultPolicies(r.Rules[i].Policies)
	}
	ns, _ := SplitName(r.Name)
	for i := range r.Rules {
		rule := &r.Rules[i]
		if len(rule.Matches) == 0 {
			rule.Matches = []RouteMatch{{}}
		}
		for j := range rule.Matches {
			m := &rule.Matches[j]
			if m.Path == nil {
				m.Path = &PathMatch{}
			}
			setDefault(&m.Path.Type, PathPrefix)
			if m.Path.Type == PathPrefix {
				setDefault(&m.Path.Value, "/")
			}
			for k := range m.Headers {
				setDefault(&m.Headers[k].Type, MatchExact)
			}
			for k := range m.QueryParams {
				setDefault(&m.QueryParams[k].Type, MatchExact)
			}
		}
		for j := range rule.BackendRefs {
			defaultRef(&rule.BackendRefs[j], ns)
		}
		for j := range rule.Filters {
			defaultFilter(&rule.Filters[j], ns)
		}
		if rt := rule.Retry; rt != nil && rt.Attempts > 0 {
			if len(rt.Codes) == 0 {
				rt.Codes = []int{502, 503, 504}
			}
			setDefault(&rt.Backoff, Duration(25*time.Millisecond))
		}
	}
}

// defaultRef qualifies a backend reference and sets its weight.
func defaultRef(b *BackendRef, ns string) {
	b.Name = qualify(b.Name, ns)
	if b.Weight == nil {
		one := 1
		b.Weight = &one
	}
}

// defaultFilter fills a filter's zero fields.
func defaultFilter(f *Filter, ns string) {
	if f.RequestRedirect != nil {
		setDefault(&f.RequestRedirect.StatusCode, 302)
		defaultPathModifier(f.RequestRedirect.Path)
	}
	if f.URLRewrite != nil {
		defaultPathModifier(f.URLRewrite.Path)
	}
	if m := f.RequestMirror; m != nil {
		defaultRef(&m.BackendRef, ns)
		if m.Percent == nil {
			hundred := 100
			m.Percent = &hundred
		}
	}
}

// defaultPathModifier infers the type from the one field set.
func defaultPathModifier(p *PathModifier) {
	if p == nil || p.Type != "" {
		return
	}
	switch {
	case p.ReplaceFullPath != "" && p.ReplacePrefixMatch == "":
		p.Type = ReplaceFullPath
	case p.ReplacePrefixMatch != "" && p.ReplaceFullPath == "":
		p.Type = ReplacePrefixMatch
	}
}

// defaultHealthCheck fills a health check's zero fields (h may be nil).
func defaultHealthCheck(h *HealthCheck) {
	if h == nil {
		return
	}
	setDefault(&h.Path, "/")
	setDefault(&h.Interval, Duration(10*time.Second))
	setDefault(&h.Timeout, Duration(2*time.Second))
	setDefault(&h.UnhealthyThreshold, 3)
	setDefault(&h.HealthyThreshold, 1)
}

// defaultBackend fills a backend's zero fields.
func defaultBackend(b *Backend) {
	b.Name = qualify(b.Name, DefaultNamespace)
	defaultPolicies(b.Policies)
	if s := b.Static; s != nil {
		for i := range s.Endpoints {
			setDefault(&s.Endpoints[i].Weight, 1)
		}
		setDefault(&s.LoadBalancer.Type, LBRoundRobin)
		defaultHealthCheck(s.HealthCheck)
		if o := s.OutlierDetection; o != nil {
			setDefault(&o.Consecutive5xx, 5)
			setDefault(&o.BaseEjectionTime, Duration(30*time.Second))
			setDefault(&o.MaxEjectionPercent, 50)
		}
		p := &s.ConnectionPool
		setDefault(&p.MaxConnections, 1024)
		setDefault(&p.MaxIdleTime, Duration(60*time.Second))
		setDefault(&p.ConnectTimeout, Duration(5*time.Second))
	}
	if ip := b.InferencePool; ip != nil {
		defaultInferencePool(ip)
	}
	if a := b.AI; a != nil {
		defaultHealthCheck(a.HealthCheck)
		setDefault(&a.Timeout, Duration(60*time.Second))
		setDefault(&a.MaxConnections, 1024)
		if a.Provider == ProviderSim && a.Sim == nil {
			a.Sim = &SimConfig{}
		}
		if a.Sim != nil {
			setDefault(&a.Sim.OutputTokens, 16)
			setDefault(&a.Sim.Mode, "lorem")
		}
	}
}

// defaultPolicies fills a policies block's zero fields.
func defaultPolicies(p *Policies) {
	if p == nil {
		return
	}
	for i := range p.RateLimits {
		defaultLimit(&p.RateLimits[i])
		if len(p.RateLimits[i].By) == 0 {
			p.RateLimits[i].By = []string{"route"}
		}
	}
}
