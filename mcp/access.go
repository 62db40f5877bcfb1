package mcp

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/switchyard-ai/switchyard/config"
)

// Caller is who calls the virtual server, as the route's client auth found
// it (the zero Caller: no client auth ran).
type Caller struct {
	// Consumer is the consumer the credential belongs to.
	Consumer string
	// Team is the consumer's team.
	Team string
	// Claims are a JWT's claims (nil for API keys). Read-only.
	Claims map[string]any
	// Authorization is the client's Authorization header, forwarded to the
	// targets configured with forward: passthrough.
	Authorization string
}

// nameFilter is a target's include/exclude lists, compiled.
type nameFilter struct {
	include, exclude     map[string]bool
	includeRe, excludeRe []*regexp.Regexp
}

// newNameFilter compiles f (nil: keep everything).
func newNameFilter(f *config.ToolFilter) (*nameFilter, error) {
	if f == nil {
		return nil, nil
	}
	nf := &nameFilter{include: set(f.Include), exclude: set(f.Exclude)}
	var err error
	if nf.includeRe, err = compileAll(f.IncludeRegex); err != nil {
		return nil, err
	}
	if nf.excludeRe, err = compileAll(f.ExcludeRegex); err != nil {
		return nil, err
	}
	return nf, nil
}

// keep reports whether a tool named name passes the filter.
func (f *nameFilter) keep(name string) bool {
	if f == nil {
		return true
	}
	if f.exclude[name] || anyMatch(f.excludeRe, name) {
		return false
	}
	if len(f.include) == 0 && len(f.includeRe) == 0 {
		return true
	}
	return f.include[name] || anyMatch(f.includeRe, name)
}

// accessRule is one compiled tool access rule.
type accessRule struct {
	allow     bool
	names     map[string]bool
	patterns  []*regexp.Regexp
	anyTool   bool
	consumers []string
	teams     []string
	claims    map[string][]string
}

// access is a backend's tool access rules.
type access []accessRule

// newAccess compiles the rules.
func newAccess(rules []config.ToolAccessRule) (access, error) {
	var a access
	for i, r := range rules {
		ar := accessRule{allow: r.Action == "allow", names: map[string]bool{}, anyTool: len(r.Tools) == 0,
			consumers: r.Consumers, teams: r.Teams, claims: r.Claims}
		for _, t := range r.Tools {
			if re, ok := config.Slashed(t); ok {
				c, err := regexp.Compile(re)
				if err != nil {
					return nil, fmt.Errorf("mcp: toolAccess[%d]: %w", i, err)
				}
				ar.patterns = append(ar.patterns, c)
				continue
			}
			ar.names[t] = true
		}
		a = append(a, ar)
	}
	return a, nil
}

// permitted reports whether c may see and call target's tool name, whatever
// form it is named by: the rules must allow it by its own name, prefixed with
// its target's, and as this request or list shows it (exposed). A tool is
// then never reachable through a form its rules do not name.
func (a access) permitted(c *Caller, target, name, exposed string) bool {
	if len(a) == 0 {
		return true
	}
	return a.allowed(name, c) && a.allowed(target+"_"+name, c) && (exposed == name || a.allowed(exposed, c))
}

// allowed reports whether c may see and call the tool the clients know as name.
func (a access) allowed(name string, c *Caller) bool {
	for i := range a {
		r := &a[i]
		if !(r.anyTool || r.names[name] || anyMatch(r.patterns, name)) {
			continue
		}
		if r.matches(c) {
			return r.allow
		}
	}
	return true
}

// matches reports whether every condition of r holds for c.
func (r *accessRule) matches(c *Caller) bool {
	if len(r.consumers) > 0 && !slices.Contains(r.consumers, c.Consumer) {
		return false
	}
	if len(r.teams) > 0 && !slices.Contains(r.teams, c.Team) {
		return false
	}
	for claim, want := range r.claims {
		if !claimHolds(c.Claims[claim], want) {
			return false
		}
	}
	return true
}

// claimHolds reports whether a claim's value is, or contains, one of want.
func claimHolds(v any, want []string) bool {
	switch x := v.(type) {
	case string:
		return slices.Contains(want, x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	case []string:
		for _, s := range x {
			if slices.Contains(want, s) {
				return true
			}
		}
	case bool:
		return slices.Contains(want, fmt.Sprint(x))
	case float64:
		return slices.Contains(want, fmt.Sprint(x))
	}
	return false
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// compileAll compiles regular expressions anchored at both ends.
func compileAll(res []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, re := range res {
		c, err := regexp.Compile("^(?:" + re + ")$")
		if err != nil {
			return nil, fmt.Errorf("mcp: tool filter: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
