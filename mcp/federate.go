package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
)

// listed is one target's items of a kind, as it listed them (kept ones only).
type listed struct {
	m     *member
	items []json.RawMessage
	names []string // the items' keys: names, or URIs for resources
}

// itemKey is the key an item is called by: its name, or its URI for resources.
func itemKey(kind string, item json.RawMessage) string {
	var k struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	}
	_ = json.Unmarshal(item, &k)
	if kind == kindResources {
		return k.URI
	}
	return k.Name
}

// listAll asks every target of the session for its items of kind, in
// parallel; a target that fails is logged and left out. gone reports a
// target that no longer knows the session.
func (b *Backend) listAll(ctx context.Context, s *session, c *Caller, kind string) (ls []listed, gone bool) {
	out := make([]listed, len(b.members))
	var lost atomic.Bool
	var wg sync.WaitGroup
	for i, m := range b.members {
		ts, ok := s.Targets[m.name]
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			items, err := m.t.list(ctx, &call{caller: c, session: ts}, kind)
			if err != nil {
				b.log.Warn("mcp: target failed to list", "backend", b.name, "target", m.name, "kind", kind, "err", err.Error())
				lost.CompareAndSwap(false, errors.Is(err, errSessionGone))
				return
			}
			l := listed{m: m}
			index := make(map[string]bool, len(items))
			for _, it := range items {
				k := itemKey(kind, it)
				if k == "" || (kind == kindTools && !m.filter.keep(k)) {
					continue
				}
				l.items = append(l.items, it)
				l.names = append(l.names, k)
				index[k] = true
			}
			m.names[kindIndex(kind)].Store(&index)
			out[i] = l
		}()
	}
	wg.Wait()
	return out, lost.Load()
}

// merged returns the items of every target as the client sees them: names
// prefixed by the prefix mode, duplicates (mode never) dropped, and tools
// the caller may not use left out.
func (b *Backend) merged(ls []listed, kind string, c *Caller) []json.RawMessage {
	count := map[string]int{}
	for _, l := range ls {
		for _, n := range l.names {
			count[n]++
		}
	}
	seen := map[string]bool{}
	out := []json.RawMessage{}
	for _, l := range ls {
		for i, it := range l.items {
			name := l.names[i]
			exposed := name
			if kind != kindResources && b.prefixed(count[name]) {
				exposed = l.m.name + "_" + name
			}
			if seen[exposed] {
				continue
			}
			seen[exposed] = true
			if kind == kindTools && !b.access.permitted(c, l.m.name, name, exposed) {
				continue
			}
			if exposed != name {
				it = renamed(it, exposed)
			}
			out = append(out, it)
		}
	}
	return out
}

// prefixed reports whether a name listed by n targets is shown prefixed.
func (b *Backend) prefixed(n int) bool {
	switch b.prefix {
	case "always":
		return true
	case "never":
		return false
	}
	return n > 1
}

// renamed returns item with its name set to name.
func renamed(item json.RawMessage, name string) json.RawMessage {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(item, &fields); err != nil {
		return item
	}
	fields["name"], _ = json.Marshal(name)
	out, err := json.Marshal(fields)
	if err != nil {
		return item
	}
	return out
}

// resolve finds the target of a name the client calls and the name the
// target knows it by, from the names the targets listed last. A plain name
// listed by one target is that target's (prefix modes conditional and
// never; never takes the first of several); otherwise the name must be
// <target>_<name>.
func (b *Backend) resolve(s *session, kind, exposed string) (*member, string) {
	var plain []*member
	var prefixed *member
	var rest string
	for _, m := range b.members {
		if _, ok := s.Targets[m.name]; !ok {
			continue
		}
		if m.has(kind, exposed) {
			plain = append(plain, m)
		}
		if kind != kindResources && prefixed == nil {
			if r, ok := strings.CutPrefix(exposed, m.name+"_"); ok && m.has(kind, r) {
				prefixed, rest = m, r
			}
		}
	}
	switch {
	case kind == kindResources:
		if len(plain) > 0 {
			return plain[0], exposed
		}
		return nil, ""
	case b.prefix != "always" && len(plain) == 1, b.prefix == "never" && len(plain) > 0:
		return plain[0], exposed
	case prefixed != nil:
		return prefixed, rest
	}
	return nil, "" // a colliding name must be called prefixed
}
