package route

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// Path match kinds in precedence order.
const (
	kindExact = iota
	kindPrefix
	kindRegex
)

// matcher is one compiled RouteMatch.
type matcher struct {
	kind    int
	path    string // exact value, or prefix without trailing slash ("" for "/")
	re      *regexp.Regexp
	method  string
	headers []valueMatcher
	query   []valueMatcher
}

// valueMatcher matches one header or query parameter.
type valueMatcher struct {
	name  string
	value string
	re    *regexp.Regexp
}

func (v *valueMatcher) match(got []byte, present bool) bool {
	if !present {
		return false
	}
	if v.re != nil {
		return v.re.Match(got)
	}
	return string(got) == v.value
}

// fullMatch compiles re anchored at both ends.
func fullMatch(re string) (*regexp.Regexp, error) {
	c, err := regexp.Compile("^(?:" + re + ")$")
	if err != nil {
		return nil, fmt.Errorf("regular expression %q: %w", re, err)
	}
	return c, nil
}

func compileMatcher(rm *config.RouteMatch) (*matcher, error) {
	m := &matcher{kind: kindPrefix, method: rm.Method}
	if p := rm.Path; p != nil {
		switch p.Type {
		case config.PathExact, config.PathPrefix, "":
			val := p.Value
			if val == "" {
				val = "/"
			}
			norm, err := NormalizePath([]byte(val))
			if err != nil {
				return nil, fmt.Errorf("path %q: %w", val, err)
			}
			if p.Type == config.PathExact {
				m.kind, m.path = kindExact, string(norm)
			} else {
				for len(norm) > 0 && norm[len(norm)-1] == '/' {
					norm = norm[:len(norm)-1]
				}
				m.path = string(norm)
			}
		case config.PathRegularExpression:
			re, err := fullMatch(p.Value)
			if err != nil {
				return nil, fmt.Errorf("path: %w", err)
			}
			m.kind, m.re = kindRegex, re
		default:
			return nil, fmt.Errorf("unknown path match type %q", p.Type)
		}
	}
	var err error
	if m.headers, err = compileValues("header", rm.Headers); err != nil {
		return nil, err
	}
	if m.query, err = compileValues("query parameter", rm.QueryParams); err != nil {
		return nil, err
	}
	return m, nil
}

func compileValues(what string, vs []config.ValueMatch) ([]valueMatcher, error) {
	out := make([]valueMatcher, 0, len(vs))
	for _, v := range vs {
		vm := valueMatcher{name: v.Name, value: v.Value}
		switch v.Type {
		case config.MatchExact, "":
		case config.MatchRegularExpression:
			re, err := fullMatch(v.Value)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", what, v.Name, err)
			}
			vm.re = re
		default:
			return nil, fmt.Errorf("%s %q: unknown match type %q", what, v.Name, v.Type)
		}
		out = append(out, vm)
	}
	return out, nil
}

// match reports whether the request satisfies every condition.
func (m *matcher) match(path, method []byte, req *fasthttp.Request) bool {
	switch m.kind {
	case kindExact:
		if string(path) != m.path {
			return false
		}
	case kindPrefix:
		if len(path) < len(m.path) || string(path[:len(m.path)]) != m.path ||
			(len(path) > len(m.path) && path[len(m.path)] != '/') {
			return false
		}
	default:
		if !m.re.Match(path) {
			return false
		}
	}
	if m.method != "" && string(method) != m.method {
		return false
	}
	if len(m.headers) > 0 || len(m.query) > 0 {
		if req == nil {
			return false
		}
		for i := range m.headers {
			v := req.Header.Peek(m.headers[i].name)
			if !m.headers[i].match(v, v != nil) {
				return false
			}
		}
		if len(m.query) > 0 {
			args := req.URI().QueryArgs()
			for i := range m.query {
				v := args.Peek(m.query[i].name)
				if !m.query[i].match(v, v != nil || args.Has(m.query[i].name)) {
					return false
				}
			}
		}
	}
	return true
}

// segKey is the first path segment every matching path must have, or ok=false
// when the matcher can match paths with any first segment.
func (m *matcher) segKey() (string, bool) {
	if m.kind == kindRegex || (m.kind == kindPrefix && m.path == "") {
		return "", false
	}
	return string(firstSeg([]byte(m.path))), true
}

// firstSeg returns the first segment of a path starting with "/".
func firstSeg(path []byte) []byte {
	if len(path) == 0 {
		return path
	}
	p := path[1:]
	if i := indexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

// entry is one match of one rule in one hostname bucket of a listener.
type entry struct {
	m                           *Match
	mt                          *matcher
	rank                        int
	routeIdx, ruleIdx, matchIdx int
}

// before reports whether a takes precedence over b (Gateway API order).
func before(a, b *entry) bool {
	x, y := a.mt, b.mt
	if x.kind != y.kind {
		return x.kind < y.kind
	}
	if x.kind == kindPrefix && len(x.path) != len(y.path) {
		return len(x.path) > len(y.path)
	}
	if (x.method != "") != (y.method != "") {
		return x.method != ""
	}
	if len(x.headers) != len(y.headers) {
		return len(x.headers) > len(y.headers)
	}
	if len(x.query) != len(y.query) {
		return len(x.query) > len(y.query)
	}
	if a.routeIdx != b.routeIdx {
		return a.routeIdx < b.routeIdx
	}
	if a.ruleIdx != b.ruleIdx {
		return a.ruleIdx < b.ruleIdx
	}
	return a.matchIdx < b.matchIdx
}

// bucket holds the entries of one hostname of a listener, sorted by precedence
// and indexed by first path segment.
type bucket struct {
	all     []*entry
	bySeg   map[string][]*entry
	generic []*entry // entries that may match any first segment
}

func (b *bucket) finish() {
	sort.SliceStable(b.all, func(i, j int) bool { return before(b.all[i], b.all[j]) })
	b.bySeg = map[string][]*entry{}
	for i, e := range b.all {
		e.rank = i
		if k, ok := e.mt.segKey(); ok {
			b.bySeg[k] = append(b.bySeg[k], e)
		} else {
			b.generic = append(b.generic, e)
		}
	}
}

// lookup walks the segment list and the generic list merged by rank.
func (b *bucket) lookup(path, method []byte, req *fasthttp.Request) *Match {
	if b == nil {
		return nil
	}
	s := b.bySeg[string(firstSeg(path))]
	g := b.generic
	i, j := 0, 0
	for i < len(s) || j < len(g) {
		var e *entry
		if j >= len(g) || (i < len(s) && s[i].rank < g[j].rank) {
			e = s[i]
			i++
		} else {
			e = g[j]
			j++
		}
		if e.mt.match(path, method, req) {
			return e.m
		}
	}
	return nil
}
