package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// GRPCRoute is a Gateway API GRPCRoute: gRPC calls arriving over HTTP/2 (h2
// on an HTTPS listener, h2c on an HTTP listener with h2c: true) are matched
// by service, method and headers and proxied to gRPC backends (static
// backends spoken to over h2c, or over TLS when the backend sets tls).
type GRPCRoute struct {
	// Name is namespace/name; a bare name takes namespace "default".
	Name string `yaml:"name" json:"name"`
	// Listeners names the HTTP (h2c) and HTTPS listeners the route attaches
	// to; empty means every HTTPS listener and every HTTP listener with h2c.
	Listeners []string `yaml:"listeners" json:"listeners,omitempty"`
	// Hostnames restricts the route to these :authority hosts (exact or *.wildcard); empty means any.
	Hostnames []string `yaml:"hostnames" json:"hostnames,omitempty"`
	// Rules are tried by GRPCRoute precedence, not in order.
	Rules []GRPCRule `yaml:"rules" json:"rules"`
	// Policies attach to every rule of the route (client auth, rate limits).
	Policies *Policies `yaml:"policies" json:"policies,omitempty"`
}

// GRPCRule is one GRPCRoute rule.
type GRPCRule struct {
	// Name optionally names the rule.
	Name string `yaml:"name" json:"name,omitempty"`
	// Matches: a call matching any of them selects the rule; empty matches every call.
	Matches []GRPCMatch `yaml:"matches" json:"matches,omitempty"`
	// Filters: RequestHeaderModifier and ResponseHeaderModifier.
	Filters []Filter `yaml:"filters" json:"filters,omitempty"`
	// BackendRefs are static gRPC backends chosen by weight.
	BackendRefs []BackendRef `yaml:"backendRefs" json:"backendRefs"`
	// Timeouts bound the whole call (request, including retries; the
	// client's grpc-timeout applies too, the shorter wins) and each attempt.
	Timeouts *Timeouts `yaml:"timeouts" json:"timeouts,omitempty"`
	// Retry retries a call that failed with one of Codes before any
	// response message was sent, on another endpoint when there is one.
	Retry *GRPCRetry `yaml:"retry" json:"retry,omitempty"`
	// Policies attached to the rule; they win over the route's.
	Policies *Policies `yaml:"policies" json:"policies,omitempty"`
}

// GRPC method match types.
const (
	GRPCMatchExact             = "Exact"
	GRPCMatchRegularExpression = "RegularExpression"
)

// GRPCMatch is one GRPCRouteMatch; all its conditions must hold.
type GRPCMatch struct {
	Method  *GRPCMethodMatch `yaml:"method" json:"method,omitempty"`
	Headers []ValueMatch     `yaml:"headers" json:"headers,omitempty"`
}

// GRPCMethodMatch matches the call's service (package.Service) and method.
// An empty field matches any; Exact needs at least one set.
type GRPCMethodMatch struct {
	// Type is Exact (default) or RegularExpression (RE2, whole value).
	Type    string `yaml:"type" json:"type"`
	Service string `yaml:"service" json:"service,omitempty"`
	Method  string `yaml:"method" json:"method,omitempty"`
}

// GRPCRetry retries calls that ended with one of its gRPC status codes.
type GRPCRetry struct {
	// Attempts is the number of retries after the first try (0..10).
	Attempts int `yaml:"attempts" json:"attempts"`
	// Backoff is the base wait between attempts (doubles each time, with jitter; default 25ms).
	Backoff Duration `yaml:"backoff" json:"backoff,omitempty"`
	// Codes are gRPC status names retried (default [UNAVAILABLE]).
	Codes []string `yaml:"codes" json:"codes,omitempty"`
}

// GRPCCodes are the gRPC status codes by name, in code order.
var GRPCCodes = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// GRPCCode returns the number of a gRPC status name, or -1.
func GRPCCode(name string) int {
	for i, n := range GRPCCodes {
		if n == strings.ToUpper(name) {
			return i
		}
	}
	return -1
}

// defaultGRPCRoute fills a GRPCRoute's zero fields.
func defaultGRPCRoute(rt *GRPCRoute) {
	rt.Name = qualify(rt.Name, DefaultNamespace)
	ns, _ := SplitName(rt.Name)
	defaultPolicies(rt.Policies)
	for i := range rt.Rules {
		rule := &rt.Rules[i]
		defaultPolicies(rule.Policies)
		if len(rule.Matches) == 0 {
			rule.Matches = []GRPCMatch{{}}
		}
		for j := range rule.Matches {
			m := &rule.Matches[j]
			if m.Method != nil {
				setDefault(&m.Method.Type, GRPCMatchExact)
			}
			for k := range m.Headers {
				setDefault(&m.Headers[k].Type, MatchExact)
			}
		}
		for j := range rule.BackendRefs {
			defaultRef(&rule.BackendRefs[j], ns)
		}
		if rr := rule.Retry; rr != nil {
			if len(rr.Codes) == 0 {
				rr.Codes = []string{"UNAVAILABLE"}
			}
			setDefault(&rr.Backoff, Duration(25*time.Millisecond))
		}
	}
}

// validateGRPCRoutes records fatal problems of GRPCRoutes.
func validateGRPCRoutes(rs []GRPCRoute, r *reporter) {
	names := map[string]int{}
	for i := range rs {
		rt := &rs[i]
		p := fmt.Sprintf("grpcRoutes[%d]", i)
		validateRouteHead(names, "grpcRoutes", i, rt.Name, rt.Hostnames, len(rt.Rules), r)
		for j := range rt.Rules {
			validateGRPCRule(&rt.Rules[j], fmt.Sprintf("%s.rules[%d]", p, j), r)
		}
		validatePolicies(rt.Policies, p+".policies", r)
	}
}

func validateGRPCRule(rule *GRPCRule, p string, r *reporter) {
	for i := range rule.Matches {
		mp := fmt.Sprintf("%s.matches[%d]", p, i)
		if m := rule.Matches[i].Method; m != nil {
			switch m.Type {
			case GRPCMatchExact:
				if m.Service == "" && m.Method == "" {
					r.add(mp+".method", "an Exact method match needs service or method")
				}
				if strings.ContainsAny(m.Service+m.Method, "/") {
					r.add(mp+".method", "service and method must not contain \"/\"")
				}
			case GRPCMatchRegularExpression:
				for _, f := range [][2]string{{"service", m.Service}, {"method", m.Method}} {
					if _, err := regexp.Compile(f[1]); err != nil {
						r.add(mp+".method."+f[0], "invalid regular expression %q: %v", f[1], err)
					}
				}
			default:
				r.add(mp+".method.type", "unknown method match type %q (use Exact or RegularExpression)", m.Type)
			}
		}
		for k, h := range rule.Matches[i].Headers {
			hp := fmt.Sprintf("%s.headers[%d]", mp, k)
			if h.Name == "" {
				r.add(hp+".name", "header name is required")
			}
			switch h.Type {
			case MatchExact:
			case MatchRegularExpression:
				if _, err := regexp.Compile(h.Value); err != nil {
					r.add(hp+".value", "invalid regular expression %q: %v", h.Value, err)
				}
			default:
				r.add(hp+".type", "unknown match type %q (use Exact or RegularExpression)", h.Type)
			}
		}
	}
	for i, f := range rule.Filters {
		fp := fmt.Sprintf("%s.filters[%d]", p, i)
		switch f.Type {
		case FilterRequestHeaderModifier, FilterResponseHeaderModifier:
			validateFilter(&rule.Filters[i], fp, r)
		default:
			r.add(fp+".type", "filter type %q is not supported on a GRPCRoute (use RequestHeaderModifier or ResponseHeaderModifier)", f.Type)
		}
	}
	if len(rule.BackendRefs) == 0 {
		r.add(p+".backendRefs", "rule needs at least one backendRef")
	}
	validateRefs(rule.BackendRefs, p, r)
	if t := rule.Timeouts; t != nil {
		nonNegative(r, p+".timeouts.request", t.Request)
		nonNegative(r, p+".timeouts.backendRequest", t.BackendRequest)
		if t.Request > 0 && t.BackendRequest > t.Request {
			r.add(p+".timeouts.backendRequest", "backendRequest %s must not exceed request %s", t.BackendRequest.D(), t.Request.D())
		}
	}
	if rr := rule.Retry; rr != nil {
		if rr.Attempts < 0 || rr.Attempts > 10 {
			r.add(p+".retry.attempts", "retry attempts %d must be between 0 and 10", rr.Attempts)
		}
		nonNegative(r, p+".retry.backoff", rr.Backoff)
		for i, c := range rr.Codes {
			if GRPCCode(c) <= 0 {
				r.add(fmt.Sprintf("%s.retry.codes[%d]", p, i), "unknown gRPC status %q (use a name such as UNAVAILABLE or RESOURCE_EXHAUSTED)", c)
			}
		}
	}
	validatePolicies(rule.Policies, p+".policies", r)
}

// resolveGRPCRoutes attaches GRPCRoutes to listeners and checks their
// backends, recording them in snap.
func resolveGRPCRoutes(snap *Snapshot, r *reporter) {
	for i := range snap.Config.GRPCRoutes {
		rt := &snap.Config.GRPCRoutes[i]
		p := fmt.Sprintf("grpcRoutes[%d]", i)
		start := len(r.errs)
		ns, short := SplitName(rt.Name)
		st := RouteStatus{Key: rt.Name}
		for ri, rule := range rt.Rules {
			for mi := 0; mi < max(1, len(rule.Matches)); mi++ {
				st.RuleKeys = append(st.RuleKeys, fmt.Sprintf("%s.%s.%d.%d", ns, short, ri, mi))
			}
		}
		if len(rt.Listeners) == 0 {
			for _, l := range snap.Listeners {
				if l.Listener.Protocol == ProtocolHTTPS || l.Listener.Protocol == ProtocolHTTP && l.Listener.H2C {
					st.Listeners = append(st.Listeners, l.Key)
				}
			}
			if len(st.Listeners) == 0 {
				r.add(p, "no listener speaks HTTP/2: a GRPCRoute needs an HTTPS listener or an HTTP listener with h2c: true")
			}
		} else {
			st.Listeners = attachKind(snap, rt.Listeners, ProtocolHTTP, p, r, ProtocolHTTPS)
			for j, ref := range rt.Listeners {
				for _, l := range snap.Listeners {
					if (l.Listener.Name == ref || l.Key == ref) && l.Listener.Protocol == ProtocolHTTP && !l.Listener.H2C {
						r.add(fmt.Sprintf("%s.listeners[%d]", p, j), "listener %q does not accept HTTP/2: set h2c: true on it", ref)
					}
				}
			}
		}
		for j := range rt.Rules {
			for k, ref := range rt.Rules[j].BackendRefs {
				bp := fmt.Sprintf("%s.rules[%d].backendRefs[%d]", p, j, k)
				switch b := snap.Backends[ref.Name]; {
				case b == nil:
					r.add(bp, "unknown backend %q", ref.Name)
				case b.Static == nil:
					r.add(bp, "backend %q is not static: a GRPCRoute needs static backends (host:port endpoints)", ref.Name)
				}
			}
		}
		finishStatus(&st, r.errs[start:])
		snap.GRPCRoutes = append(snap.GRPCRoutes, st)
	}
}
