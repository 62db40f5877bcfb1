package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Compile applies defaults to cfg (in place), validates it and compiles a Snapshot, for a
// Config built in code (the Kubernetes translator, tests). name is used in messages; the
// problems it reports carry field paths but no lines. It fails like LoadBytes.
func Compile(name string, cfg *Config) (*Snapshot, error) {
	if cfg == nil {
		return nil, Errors{{File: name, Msg: "configuration is empty"}}
	}
	return compile(name, cfg, nil)
}

// compile defaults, validates and compiles cfg; pos places problems in the source.
func compile(name string, cfg *Config, pos *positions) (*Snapshot, error) {
	applyDefaults(cfg)
	fatal := &reporter{file: name, pos: pos}
	validate(cfg, fatal)
	snap := build(name, cfg)
	problems := &reporter{file: name, pos: pos}
	resolveRoutes(snap, problems)
	resolveL4Routes(snap, problems)
	resolveGRPCRoutes(snap, problems)
	if len(fatal.errs) > 0 {
		all := append(fatal.errs, problems.errs...)
		sortErrors(all)
		return nil, all
	}
	sortErrors(problems.errs)
	snap.Problems = problems.errs
	snap.pos = pos
	return snap, nil
}

// build derives binds, listener keys, route keys and the backend map.
func build(name string, cfg *Config) *Snapshot {
	snap := &Snapshot{
		Source:   name,
		Loaded:   time.Now(),
		Config:   cfg,
		Backends: make(map[string]*Backend, len(cfg.Backends)),
	}
	for i := range cfg.Backends {
		b := &cfg.Backends[i]
		if _, dup := snap.Backends[b.Name]; !dup && b.Name != "" {
			snap.Backends[b.Name] = b
		}
	}
	bindOf := map[int]int{}
	for i := range cfg.Listeners {
		l := &cfg.Listeners[i]
		bi, ok := bindOf[l.Port]
		if !ok {
			bi = len(snap.Binds)
			bindOf[l.Port] = bi
			snap.Binds = append(snap.Binds, Bind{
				Key:      fmt.Sprintf("%d/%s/%s", l.Port, l.Namespace, l.Gateway),
				Address:  l.Address,
				Port:     l.Port,
				Protocol: l.Protocol,
			})
		}
		key := listenerKey(l)
		snap.Binds[bi].H2C = snap.Binds[bi].H2C || l.H2C
		snap.Binds[bi].Listeners = append(snap.Binds[bi].Listeners, key)
		snap.Listeners = append(snap.Listeners, ListenerInfo{Key: key, BindKey: snap.Binds[bi].Key, Listener: l})
	}
	for i := range cfg.Routes {
		rt := &cfg.Routes[i]
		ns, n := SplitName(rt.Name)
		info := RouteInfo{Key: rt.Name, Route: rt}
		for ri, rule := range rt.Rules {
			for mi := 0; mi < max(1, len(rule.Matches)); mi++ {
				info.RuleKeys = append(info.RuleKeys, fmt.Sprintf("%s.%s.%d.%d", ns, n, ri, mi))
			}
		}
		snap.Routes = append(snap.Routes, info)
	}
	return snap
}

// resolveRoutes attaches routes to listeners and checks their backend references. A
// route with a problem is disabled; its problems are recorded in r.
func resolveRoutes(snap *Snapshot, r *reporter) {
	for i := range snap.Routes {
		info := &snap.Routes[i]
		rt := info.Route
		p := fmt.Sprintf("routes[%d]", i)
		start := len(r.errs)
		info.Listeners = attach(snap, rt, p, r)
		for j := range rt.Rules {
			checkRuleBackends(snap, &rt.Rules[j], fmt.Sprintf("%s.rules[%d]", p, j), r)
		}
		if mine := r.errs[start:]; len(mine) > 0 {
			info.Disabled = true
			reasons := make([]string, len(mine))
			for k, e := range mine {
				reasons[k] = e.Path + ": " + e.Msg
			}
			info.Reason = strings.Join(reasons, "; ")
		}
	}
}

// attach returns the keys of the listeners a route attaches to. A name in route.listeners
// is a listener (section) name, matched in every gateway, or a full key namespace/gateway.listener.
func attach(snap *Snapshot, rt *Route, p string, r *reporter) []string {
	keys := []string{}
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(rt.Listeners) == 0 {
		for _, l := range snap.Listeners {
			if l.Listener.Protocol == ProtocolHTTP || l.Listener.Protocol == ProtocolHTTPS {
				add(l.Key)
			}
		}
		return keys
	}
	for j, ref := range rt.Listeners {
		found := false
		for _, l := range snap.Listeners {
			if l.Listener.Name == ref || l.Key == ref {
				found = true
				if proto := l.Listener.Protocol; proto == ProtocolTCP || proto == ProtocolTLS {
					r.add(fmt.Sprintf("%s.listeners[%d]", p, j), "listener %q has protocol %s: attach a TCPRoute or TLSRoute to it, not a route", ref, proto)
					continue
				}
				add(l.Key)
			}
		}
		if !found {
			r.add(fmt.Sprintf("%s.listeners[%d]", p, j), "unknown listener %q", ref)
		}
	}
	return keys
}

// checkRuleBackends reports unknown backends and rules mixing AI and static backends.
func checkRuleBackends(snap *Snapshot, rule *RouteRule, p string, r *reporter) {
	var ai, static []string
	for k, ref := range rule.BackendRefs {
		b := snap.Backends[ref.Name]
		switch {
		case ref.Invalid != "":
			// kept on purpose: its share answers 500
		case b == nil:
			r.add(fmt.Sprintf("%s.backendRefs[%d]", p, k), "unknown backend %q", ref.Name)
		case b.AI != nil || b.InferencePool != nil:
			ai = append(ai, ref.Name)
		case b.Static != nil:
			static = append(static, ref.Name)
		case b.MCP != nil || b.A2A != nil:
			if len(rule.BackendRefs) != 1 {
				r.add(fmt.Sprintf("%s.backendRefs[%d]", p, k), "an mcp or a2a backend must be its rule's only backend")
			}
		}
	}
	for k, ref := range rule.BackendRefs {
		if b := snap.Backends[ref.Name]; b != nil && len(ref.Endpoints) > 0 {
			checkPoolSubset(b, ref.Endpoints, fmt.Sprintf("%s.backendRefs[%d].endpoints", p, k), r)
		}
	}
	var first *Backend
	for k, ref := range rule.BackendRefs {
		b := snap.Backends[ref.Name]
		if b == nil {
			continue
		}
		if first == nil {
			first = b
		} else if !reflect.DeepEqual(first.Policies, b.Policies) {
			r.add(fmt.Sprintf("%s.backendRefs[%d]", p, k), "backends %q and %q attach different policies; "+
				"a rule's backends must agree (attach the policy to the rule or the route instead)", first.Name, b.Name)
			break
		}
	}
	if len(ai) > 0 && len(static) > 0 {
		r.add(p+".backendRefs", "rule mixes AI backends (%s) and static backends (%s); use one kind per rule",
			strings.Join(ai, ", "), strings.Join(static, ", "))
	}
	for k, f := range rule.Filters {
		if f.RequestMirror == nil || f.RequestMirror.BackendRef.Name == "" {
			continue
		}
		if name := f.RequestMirror.BackendRef.Name; snap.Backends[name] == nil {
			r.add(fmt.Sprintf("%s.filters[%d].requestMirror.backendRef", p, k), "unknown backend %q", name)
		}
	}
}
