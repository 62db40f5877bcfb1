// Package route compiles a configuration snapshot into an immutable route
// table and runs the Gateway API HTTPRoute filters. Lookup follows Gateway API
// precedence: the listener is chosen by Host on the port, then routes by
// hostname specificity (exact, longer wildcard, shorter wildcard, none; a request
// falls through to less specific hostnames when no rule matches), then among
// rules: Exact path, longer PathPrefix, RegularExpression; method present; more
// header matches; more query matches; config order of the route; rule order;
// match order. Regular expressions are full matches (compiled as ^(?:re)$).
package route

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/router/engine"
)

// Table is an immutable route table compiled once per snapshot; safe for concurrent use.
type Table struct {
	ports map[int]*portTable
	rules []*Rule // every compiled rule, once, in configuration order
}

// Rules calls fn for every compiled rule once, in configuration order (the
// router sets each rule's handler and policy chain this way).
func (t *Table) Rules(fn func(*Rule)) {
	for _, r := range t.rules {
		fn(r)
	}
}

// Match is the chosen rule plus what filters need from the match. A Match
// returned by [Table.Lookup] is shared by all requests: treat it as read-only.
type Match struct {
	// Rule is the rule that matched.
	Rule *Rule
	// Key is the match's key namespace.name.rule.match (e.g. "default.api.0.1").
	Key string
	// PathType is the type of the path match that matched (Exact, PathPrefix, RegularExpression).
	PathType string
	// PrefixLen is the length of the matched PathPrefix (for ReplacePrefixMatch), 0 otherwise.
	// A trailing slash of the configured prefix is not counted; prefix "/" has length 0.
	PrefixLen int
	// ListenerKey is the key namespace/gateway.listener of the listener that took the request.
	ListenerKey string
	// Port is the listener's port (redirects without scheme or port keep it).
	Port int
}

// Rule is one compiled route rule, shared by every listener it is attached to.
type Rule struct {
	// Key is the rule key namespace.name.rule (e.g. "default.api.0").
	Key string
	// Route is the route name namespace/name.
	Route string
	// Index is the rule's position in its route.
	Index int
	// Config is the rule as configured (defaults applied). Read-only.
	Config *config.RouteRule
	// Backends are the resolved backendRefs in configured order.
	Backends []Ref
	// Kind is the rule's kind of route: which handler serves it.
	Kind Kind
	// Handler serves the rule's requests; the router sets it once per
	// snapshot from the handler registry (nil until then).
	Handler engine.Handler
	// Chain is the rule's compiled policy chain; the router sets it once per
	// snapshot (nil: no policies).
	Chain *policies.Chain
	// Policies are the rule's effective policy attachments: per policy, the
	// most specific of the rule's backends, the rule and the route.
	Policies config.Policies
	// Mirror is the first RequestMirror filter, nil if none.
	Mirror *MirrorSpec

	filters []filter
	cors    *corsPolicy
	resp    []*headerMod
}

// Ref is a resolved backendRef.
type Ref struct {
	// Name is the backend key namespace/name.
	Name string
	// Weight within the priority group (default 1; 0 disables).
	Weight int
	// Priority group for AI failover, lower first.
	Priority int
	// Backend is the backend from the snapshot (nil when Invalid).
	Backend *config.Backend
	// Invalid says why the reference does not resolve: its share answers 500.
	Invalid string
}

// MirrorSpec says where to mirror requests and how many.
type MirrorSpec struct {
	// Backend is the backend key namespace/name.
	Backend string
	// Percent of requests mirrored, 0-100.
	Percent int
}

// Compile builds the table from a snapshot. Disabled routes (RouteInfo.Disabled)
// are skipped, as are TCP/TLS listeners. Regexes are precompiled. An error names
// the route and rule at fault; the caller keeps its previous table.
func Compile(snap *config.Snapshot) (*Table, error) {
	if snap == nil {
		return nil, errors.New("route: compile: nil snapshot")
	}
	t := &Table{ports: map[int]*portTable{}}
	listeners := map[string]*listenerTable{}
	known := map[string]bool{}
	var httpKeys []string
	for _, li := range snap.Listeners {
		known[li.Key] = true
		l := li.Listener
		if l == nil || (l.Protocol != "" && l.Protocol != config.ProtocolHTTP && l.Protocol != config.ProtocolHTTPS) {
			continue
		}
		lt := newListenerTable(li.Key, l.Port, normHostname(l.Hostname))
		pt := t.ports[l.Port]
		if pt == nil {
			pt = &portTable{exact: map[string]*listenerTable{}, wildcard: map[string]*listenerTable{}}
			t.ports[l.Port] = pt
		}
		if err := pt.add(lt); err != nil {
			return nil, fmt.Errorf("route: compile: %w", err)
		}
		listeners[li.Key] = lt
		httpKeys = append(httpKeys, li.Key)
	}
	for ri := range snap.Routes {
		info := &snap.Routes[ri]
		if info.Disabled || info.Route == nil {
			continue
		}
		cr, err := compileRoute(snap, info)
		if err != nil {
			return nil, fmt.Errorf("route: compile: %w", err)
		}
		t.rules = append(t.rules, cr.rules...)
		keys := info.Listeners
		if len(keys) == 0 {
			keys = httpKeys
		}
		for _, k := range keys {
			lt := listeners[k]
			if lt == nil {
				if !known[k] {
					return nil, fmt.Errorf("route: compile: route %s: unknown listener %q", cr.name, k)
				}
				continue // a TCP/TLS listener: not an HTTP route target
			}
			lt.attach(cr, ri)
		}
	}
	for _, pt := range t.ports {
		for _, lt := range pt.all {
			lt.finish()
		}
	}
	return t, nil
}

// compiledRoute is a route's rules and matchers, compiled once.
type compiledRoute struct {
	name      string // namespace/name
	hostnames []string
	rules     []*Rule
	matchers  [][]*matcher // per rule, per match
	keys      [][]string   // per rule, per match: namespace.name.rule.match
}

func compileRoute(snap *config.Snapshot, info *config.RouteInfo) (*compiledRoute, error) {
	r := info.Route
	name := info.Key
	if name == "" {
		name = r.Name
	}
	ns, short := splitName(name, "default")
	name = ns + "/" + short
	cr := &compiledRoute{name: name}
	for _, h := range r.Hostnames {
		cr.hostnames = append(cr.hostnames, normHostname(h))
	}
	for i := range r.Rules {
		rc := &r.Rules[i]
		rule := &Rule{
			Key:    ns + "." + short + "." + strconv.Itoa(i),
			Route:  name,
			Index:  i,
			Config: rc,
		}
		where := fmt.Sprintf("route %s rule %d", name, i)
		if err := rule.compileBackends(snap, ns, rc); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		var bs []*config.Backend
		for _, ref := range rule.Backends {
			bs = append(bs, ref.Backend)
		}
		rule.Policies = config.EffectivePolicies(r, rc, bs)
		if err := rule.compileFilters(snap, ns, rc); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		matches := rc.Matches
		if len(matches) == 0 {
			matches = []config.RouteMatch{{}}
		}
		var ms []*matcher
		var ks []string
		for j := range matches {
			m, err := compileMatcher(&matches[j])
			if err != nil {
				return nil, fmt.Errorf("%s match %d: %w", where, j, err)
			}
			ms = append(ms, m)
			ks = append(ks, rule.Key+"."+strconv.Itoa(j))
		}
		cr.rules = append(cr.rules, rule)
		cr.matchers = append(cr.matchers, ms)
		cr.keys = append(cr.keys, ks)
	}
	return cr, nil
}

func (r *Rule) compileBackends(snap *config.Snapshot, ns string, rc *config.RouteRule) error {
	kind := KindHTTP
	if len(rc.BackendRefs) > 0 {
		kind = KindAI
	}
	invalid := 0
	for _, br := range rc.BackendRefs {
		key := qualify(br.Name, ns)
		w := 1
		if br.Weight != nil {
			w = max(*br.Weight, 0)
		}
		if br.Invalid != "" {
			invalid++
			r.Backends = append(r.Backends, Ref{Name: key, Weight: w, Invalid: br.Invalid})
			continue
		}
		b := snap.Backends[key]
		if b == nil {
			return fmt.Errorf("unknown backend %q", key)
		}
		r.Backends = append(r.Backends, Ref{Name: key, Weight: w, Priority: br.Priority, Backend: b})
		switch {
		case b.MCP != nil:
			kind = KindMCP
		case b.A2A != nil:
			kind = KindA2A
		case b.AI == nil && b.InferencePool == nil:
			kind = KindHTTP
		}
	}
	if invalid > 0 && invalid == len(rc.BackendRefs) {
		kind = KindHTTP // nothing but 500s: the static kind answers them
	}
	r.Kind = kind
	return nil
}

// splitName splits "ns/name"; a bare name takes namespace def.
func splitName(s, def string) (ns, name string) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return def, s
}

// qualify returns a backend key namespace/name, giving a bare name namespace ns.
func qualify(name, ns string) string {
	n, s := splitName(name, ns)
	return n + "/" + s
}
