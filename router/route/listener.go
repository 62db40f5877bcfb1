package route

import (
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// portTable holds the HTTP listeners of one port, indexed by hostname.
type portTable struct {
	exact    map[string]*listenerTable
	wildcard map[string]*listenerTable // by suffix of "*.suffix"
	any      *listenerTable
	all      []*listenerTable
}

func (p *portTable) add(lt *listenerTable) error {
	var prev *listenerTable
	switch s, wild := wildcardSuffix(lt.hostname); {
	case lt.hostname == "":
		prev, p.any = p.any, lt
	case wild:
		prev, p.wildcard[s] = p.wildcard[s], lt
	default:
		prev, p.exact[lt.hostname] = p.exact[lt.hostname], lt
	}
	if prev != nil {
		return fmt.Errorf("listeners %s and %s on port %d have the same hostname %q", prev.key, lt.key, lt.port, lt.hostname)
	}
	p.all = append(p.all, lt)
	return nil
}

// pick chooses the listener for a canonical host: exact hostname, then the
// longest matching wildcard, then the listener without hostname.
func (p *portTable) pick(host []byte) *listenerTable {
	if lt := p.exact[string(host)]; lt != nil {
		return lt
	}
	if len(p.wildcard) > 0 {
		for i := 1; i < len(host); i++ {
			if host[i] == '.' {
				if lt := p.wildcard[string(host[i+1:])]; lt != nil {
					return lt
				}
			}
		}
	}
	return p.any
}

// listenerTable holds the route entries reachable through one listener,
// bucketed by route hostname.
type listenerTable struct {
	key      string
	port     int
	hostname string
	exact    map[string]*bucket
	wildcard map[string]*bucket
	any      *bucket
}

func newListenerTable(key string, port int, hostname string) *listenerTable {
	return &listenerTable{
		key: key, port: port, hostname: hostname,
		exact: map[string]*bucket{}, wildcard: map[string]*bucket{},
	}
}

// attach adds a route's matches to the buckets of the hostnames that intersect the listener's.
func (l *listenerTable) attach(cr *compiledRoute, routeIdx int) {
	hosts := cr.hostnames
	if len(hosts) == 0 {
		hosts = []string{""}
	}
	// Matches are per listener (ListenerKey, Port) and shared across that listener's buckets.
	var matches [][]*Match
	for _, h := range hosts {
		kind, key, ok := intersect(l.hostname, h)
		if !ok {
			continue
		}
		if matches == nil {
			matches = l.newMatches(cr)
		}
		b := l.bucketFor(kind, key)
		for ri, ms := range cr.matchers {
			for mi, mt := range ms {
				b.all = append(b.all, &entry{m: matches[ri][mi], mt: mt, routeIdx: routeIdx, ruleIdx: ri, matchIdx: mi})
			}
		}
	}
}

func (l *listenerTable) newMatches(cr *compiledRoute) [][]*Match {
	out := make([][]*Match, len(cr.rules))
	for ri, rule := range cr.rules {
		for mi, mt := range cr.matchers[ri] {
			m := &Match{Rule: rule, Key: cr.keys[ri][mi], ListenerKey: l.key, Port: l.port}
			switch mt.kind {
			case kindExact:
				m.PathType = config.PathExact
			case kindPrefix:
				m.PathType, m.PrefixLen = config.PathPrefix, len(mt.path)
			default:
				m.PathType = config.PathRegularExpression
			}
			out[ri] = append(out[ri], m)
		}
	}
	return out
}

func (l *listenerTable) bucketFor(kind hostKind, key string) *bucket {
	var b *bucket
	switch kind {
	case hostExact:
		if b = l.exact[key]; b == nil {
			b = &bucket{}
			l.exact[key] = b
		}
	case hostWildcard:
		if b = l.wildcard[key]; b == nil {
			b = &bucket{}
			l.wildcard[key] = b
		}
	default:
		if b = l.any; b == nil {
			b = &bucket{}
			l.any = b
		}
	}
	return b
}

func (l *listenerTable) finish() {
	for _, b := range l.exact {
		b.finish()
	}
	for _, b := range l.wildcard {
		b.finish()
	}
	if l.any != nil {
		l.any.finish()
	}
}

// lookup tries the buckets from the most to the least specific hostname.
func (l *listenerTable) lookup(host, method, path []byte, req *fasthttp.Request) *Match {
	if m := l.exact[string(host)].lookup(path, method, req); m != nil {
		return m
	}
	if len(l.wildcard) > 0 {
		for i := 1; i < len(host); i++ {
			if host[i] == '.' {
				if m := l.wildcard[string(host[i+1:])].lookup(path, method, req); m != nil {
					return m
				}
			}
		}
	}
	return l.any.lookup(path, method, req)
}

// Lookup finds the rule for a request arriving on port. host is the Host header
// (a port is stripped and the name lower-cased here), method the request
// method, path the normalized path ([NormalizePath]); req supplies headers and
// query parameters and may be nil when no rule matches on them. It returns nil
// when nothing matches (answer 404). Lookup does not allocate.
func (t *Table) Lookup(port int, host, method, path []byte, req *fasthttp.Request) *Match {
	if t == nil {
		return nil
	}
	pt := t.ports[port]
	if pt == nil {
		return nil
	}
	var buf [128]byte
	h := canonHost(buf[:0], host)
	lt := pt.pick(h)
	if lt == nil {
		return nil
	}
	return lt.lookup(h, method, path, req)
}
