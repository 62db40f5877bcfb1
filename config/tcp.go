package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// TCPRoute is a Gateway API TCPRoute: every connection accepted by the TCP
// listeners it attaches to is proxied, bytes both ways, to one of its rule's
// backends chosen by weight. A TCP listener serves one TCPRoute.
type TCPRoute struct {
	// Name is namespace/name; a bare name takes namespace "default".
	Name string `yaml:"name" json:"name"`
	// Listeners names the TCP listeners the route attaches to; empty means every TCP listener.
	Listeners []string `yaml:"listeners" json:"listeners,omitempty"`
	// Rules holds exactly one rule (TCPRoute has no matching).
	Rules []L4Rule `yaml:"rules" json:"rules"`
}

// TLSRoute is a Gateway API TLSRoute: connections to the TLS listeners it
// attaches to whose ClientHello names one of its hostnames (SNI) go to its
// rule's backends. On a Passthrough listener the TLS stream is relayed
// untouched; on a Terminate listener the gateway ends TLS and relays the
// plaintext to a TCP backend.
type TLSRoute struct {
	// Name is namespace/name; a bare name takes namespace "default".
	Name string `yaml:"name" json:"name"`
	// Listeners names the TLS listeners the route attaches to; empty means every TLS listener.
	Listeners []string `yaml:"listeners" json:"listeners,omitempty"`
	// Hostnames are the SNI names served, exact or *.wildcard (one or more labels); at least one.
	Hostnames []string `yaml:"hostnames" json:"hostnames"`
	// Rules holds exactly one rule.
	Rules []L4Rule `yaml:"rules" json:"rules"`
}

// PROXY protocol versions sent to a backend before the client's bytes.
const (
	ProxyProtocolV1 = "v1"
	ProxyProtocolV2 = "v2"
)

// L4Rule is the one rule of a TCPRoute or TLSRoute.
type L4Rule struct {
	// Name optionally names the rule.
	Name string `yaml:"name" json:"name,omitempty"`
	// BackendRefs are static backends chosen by weight; within one, an
	// endpoint by its weight among the healthy, non-ejected ones.
	BackendRefs []BackendRef `yaml:"backendRefs" json:"backendRefs"`
	// Timeouts bound dialing a backend and an idle connection.
	Timeouts *L4Timeouts `yaml:"timeouts" json:"timeouts,omitempty"`
	// ProxyProtocol, v1 or v2, sends a PROXY protocol header with the
	// client's address to the backend first (default: none).
	ProxyProtocol string `yaml:"proxyProtocol" json:"proxyProtocol,omitempty"`
}

// L4Timeouts are a TCP or TLS route's timeouts.
type L4Timeouts struct {
	// Connect bounds dialing one endpoint (default: the backend's connectionPool.connectTimeout).
	Connect Duration `yaml:"connect" json:"connect,omitempty"`
	// Idle closes a connection with no bytes either way for this long (default 1h).
	Idle Duration `yaml:"idle" json:"idle,omitempty"`
	// Handshake bounds reading the ClientHello on a TLS listener (default 10s).
	Handshake Duration `yaml:"handshake" json:"handshake,omitempty"`
}

// Default L4 timeouts.
const (
	DefaultL4Idle      = Duration(time.Hour)
	DefaultL4Handshake = Duration(10 * time.Second)
)

// RouteStatus is a TCPRoute, TLSRoute or GRPCRoute in the snapshot: its keys,
// the listeners it attaches to, and whether it is served.
type RouteStatus struct {
	// Key is the route name namespace/name.
	Key string `json:"key"`
	// RuleKeys are namespace.name.rule.match for every rule and match.
	RuleKeys []string `json:"ruleKeys"`
	// Listeners are the listener keys the route attaches to.
	Listeners []string `json:"listeners"`
	// Disabled is true when the route cannot be served; Reason says why.
	Disabled bool   `json:"disabled,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// UnmarshalYAML implements yaml.Unmarshaler: an endpoint is a mapping
// {host, port, weight} or a "host:port" string (so that a list can come from
// one environment variable: endpoints: [${BACKENDS}]).
func (e *Endpoint) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		host, port, err := net.SplitHostPort(n.Value)
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil || host == "" {
			return typeError("line %d: endpoint %q must be host:port or a mapping {host, port, weight}", n.Line, n.Value)
		}
		*e = Endpoint{Host: host, Port: p}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return typeError("line %d: endpoint must be host:port or a mapping {host, port, weight}", n.Line)
	}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "host":
			err = v.Decode(&e.Host)
		case "port":
			err = v.Decode(&e.Port)
		case "weight":
			err = v.Decode(&e.Weight)
		default:
			errs = append(errs, fmt.Sprintf("line %d: field %s not found in type config.Endpoint", k.Line, k.Value))
			continue
		}
		if te, ok := err.(*yaml.TypeError); ok {
			errs = append(errs, te.Errors...)
		} else if err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %v", v.Line, err))
		}
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

// typeError is a one-message *yaml.TypeError, so the decoder goes on.
func typeError(format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf(format, args...)}}
}

// defaultL4 fills a TCPRoute's or TLSRoute's zero fields.
func defaultL4(name *string, rules []L4Rule) {
	*name = qualify(*name, DefaultNamespace)
	ns, _ := SplitName(*name)
	for i := range rules {
		r := &rules[i]
		for j := range r.BackendRefs {
			defaultRef(&r.BackendRefs[j], ns)
		}
		if r.Timeouts == nil {
			r.Timeouts = &L4Timeouts{}
		}
		setDefault(&r.Timeouts.Idle, DefaultL4Idle)
		setDefault(&r.Timeouts.Handshake, DefaultL4Handshake)
	}
}

// validateL4Routes records fatal problems of TCPRoutes and TLSRoutes.
func validateL4Routes(c *Config, r *reporter) {
	names := map[string]string{}
	check := func(p, name string) {
		if _, n := SplitName(name); n == "" {
			r.add(p+".name", "route name is required")
		} else if other, dup := names[name]; dup {
			r.add(p+".name", "duplicate route name %q (also %s)", name, other)
		} else {
			names[name] = p
		}
	}
	for i := range c.TCPRoutes {
		rt := &c.TCPRoutes[i]
		p := fmt.Sprintf("tcpRoutes[%d]", i)
		check(p, rt.Name)
		validateL4Rules(rt.Rules, p, r)
	}
	for i := range c.TLSRoutes {
		rt := &c.TLSRoutes[i]
		p := fmt.Sprintf("tlsRoutes[%d]", i)
		check(p, rt.Name)
		if len(rt.Hostnames) == 0 {
			r.add(p+".hostnames", "a TLSRoute needs at least one hostname (the SNI it serves)")
		}
		for j, h := range rt.Hostnames {
			if !validHostname(h, true) {
				r.add(fmt.Sprintf("%s.hostnames[%d]", p, j), "invalid hostname %q", h)
			}
		}
		validateL4Rules(rt.Rules, p, r)
	}
}

func validateL4Rules(rules []L4Rule, p string, r *reporter) {
	if len(rules) != 1 {
		r.add(p+".rules", "a TCP or TLS route has exactly one rule, found %d", len(rules))
	}
	for j := range rules {
		rule := &rules[j]
		rp := fmt.Sprintf("%s.rules[%d]", p, j)
		if len(rule.BackendRefs) == 0 {
			r.add(rp+".backendRefs", "rule needs at least one backendRef")
		}
		validateRefs(rule.BackendRefs, rp, r)
		if t := rule.Timeouts; t != nil {
			nonNegative(r, rp+".timeouts.connect", t.Connect)
			nonNegative(r, rp+".timeouts.idle", t.Idle)
			nonNegative(r, rp+".timeouts.handshake", t.Handshake)
		}
		switch rule.ProxyProtocol {
		case "", ProxyProtocolV1, ProxyProtocolV2:
		default:
			r.add(rp+".proxyProtocol", "unknown PROXY protocol version %q (use v1 or v2)", rule.ProxyProtocol)
		}
	}
}

// validateRefs checks backend references' names and weights.
func validateRefs(refs []BackendRef, p string, r *reporter) {
	for i, b := range refs {
		bp := fmt.Sprintf("%s.backendRefs[%d]", p, i)
		if b.Name == "" {
			r.add(bp+".name", "backend name is required")
		}
		if b.Weight != nil && (*b.Weight < 0 || *b.Weight > maxWeight) {
			r.add(bp+".weight", "weight must be between 0 and %d", maxWeight)
		}
	}
}

// resolveL4Routes attaches TCP and TLS routes to listeners, checks their
// backends and listener conflicts, and records them in snap. A route with a
// problem is disabled; its problems go to r.
func resolveL4Routes(snap *Snapshot, r *reporter) {
	tcpTaken := map[string]string{} // listener key -> route
	for i := range snap.Config.TCPRoutes {
		rt := &snap.Config.TCPRoutes[i]
		p := fmt.Sprintf("tcpRoutes[%d]", i)
		start := len(r.errs)
		st := RouteStatus{Key: rt.Name, RuleKeys: l4RuleKeys(rt.Name, len(rt.Rules))}
		st.Listeners = attachKind(snap, rt.Listeners, ProtocolTCP, p, r)
		for _, l := range st.Listeners {
			if other, ok := tcpTaken[l]; ok {
				r.add(p+".listeners", "listener %s already serves TCPRoute %s; a TCP listener serves one TCPRoute", l, other)
			}
		}
		checkL4Backends(snap, rt.Rules, p, r)
		finishStatus(&st, r.errs[start:])
		if !st.Disabled {
			for _, l := range st.Listeners {
				tcpTaken[l] = rt.Name
			}
		}
		snap.TCPRoutes = append(snap.TCPRoutes, st)
	}
	sniTaken := map[string]string{} // listener key + " " + hostname -> route
	for i := range snap.Config.TLSRoutes {
		rt := &snap.Config.TLSRoutes[i]
		p := fmt.Sprintf("tlsRoutes[%d]", i)
		start := len(r.errs)
		st := RouteStatus{Key: rt.Name, RuleKeys: l4RuleKeys(rt.Name, len(rt.Rules))}
		st.Listeners = attachKind(snap, rt.Listeners, ProtocolTLS, p, r)
		for _, l := range st.Listeners {
			for j, h := range rt.Hostnames {
				if other, ok := sniTaken[l+" "+strings.ToLower(h)]; ok {
					r.add(fmt.Sprintf("%s.hostnames[%d]", p, j), "hostname %s on listener %s is already served by TLSRoute %s", h, l, other)
				}
			}
		}
		checkL4Backends(snap, rt.Rules, p, r)
		finishStatus(&st, r.errs[start:])
		if !st.Disabled {
			for _, l := range st.Listeners {
				for _, h := range rt.Hostnames {
					sniTaken[l+" "+strings.ToLower(h)] = rt.Name
				}
			}
		}
		snap.TLSRoutes = append(snap.TLSRoutes, st)
	}
}

// l4RuleKeys are namespace.name.rule.0 for n rules.
func l4RuleKeys(name string, n int) []string {
	ns, short := SplitName(name)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s.%s.%d.0", ns, short, i)
	}
	return keys
}

// finishStatus disables a route that has problems.
func finishStatus(st *RouteStatus, mine Errors) {
	if len(mine) == 0 {
		return
	}
	st.Disabled = true
	reasons := make([]string, len(mine))
	for k, e := range mine {
		reasons[k] = e.Path + ": " + e.Msg
	}
	st.Reason = strings.Join(reasons, "; ")
}

// attachKind returns the keys of the listeners of protocol (or protocols) a
// route attaches to: the named ones, or every one when refs is empty.
func attachKind(snap *Snapshot, refs []string, protocol string, p string, r *reporter, more ...string) []string {
	ok := func(proto string) bool {
		if proto == protocol {
			return true
		}
		for _, m := range more {
			if proto == m {
				return true
			}
		}
		return false
	}
	keys := []string{}
	if len(refs) == 0 {
		for _, l := range snap.Listeners {
			if ok(l.Listener.Protocol) {
				keys = append(keys, l.Key)
			}
		}
		if len(keys) == 0 {
			r.add(p, "no %s listener to attach to", strings.Join(append([]string{protocol}, more...), " or "))
		}
		return keys
	}
	seen := map[string]bool{}
	for j, ref := range refs {
		found := false
		for _, l := range snap.Listeners {
			if l.Listener.Name != ref && l.Key != ref {
				continue
			}
			found = true
			if !ok(l.Listener.Protocol) {
				r.add(fmt.Sprintf("%s.listeners[%d]", p, j), "listener %q has protocol %s; this route attaches to %s listeners",
					ref, l.Listener.Protocol, strings.Join(append([]string{protocol}, more...), " or "))
				continue
			}
			if !seen[l.Key] {
				seen[l.Key] = true
				keys = append(keys, l.Key)
			}
		}
		if !found {
			r.add(fmt.Sprintf("%s.listeners[%d]", p, j), "unknown listener %q", ref)
		}
	}
	return keys
}

// checkL4Backends reports unknown backends and backends that are not static.
func checkL4Backends(snap *Snapshot, rules []L4Rule, p string, r *reporter) {
	for j := range rules {
		for k, ref := range rules[j].BackendRefs {
			bp := fmt.Sprintf("%s.rules[%d].backendRefs[%d]", p, j, k)
			switch b := snap.Backends[ref.Name]; {
			case b == nil:
				r.add(bp, "unknown backend %q", ref.Name)
			case b.Static == nil:
				r.add(bp, "backend %q is not static: TCP, TLS and gRPC routes need static backends (host:port endpoints)", ref.Name)
			}
		}
	}
}
