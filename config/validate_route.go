package config

import (
	"fmt"
	"regexp"
	"strings"
)

// validateRoutes records fatal problems of routes: names, matches, filters, retry and policies.
func validateRoutes(rs []Route, r *reporter) {
	names := map[string]int{}
	for i := range rs {
		rt := &rs[i]
		p := fmt.Sprintf("routes[%d]", i)
		validateRouteHead(names, "routes", i, rt.Name, rt.Hostnames, len(rt.Rules), r)
		for j := range rt.Rules {
			validateRule(&rt.Rules[j], fmt.Sprintf("%s.rules[%d]", p, j), r)
		}
		validatePolicies(rt.Policies, p+".policies", r)
	}
}

// validateRouteHead checks what every HTTP-like route kind has (list is
// its field, "routes" or "grpcRoutes"): a name unique in names, valid
// hostnames, at least one rule.
func validateRouteHead(names map[string]int, list string, i int, name string, hostnames []string, rules int, r *reporter) {
	p := fmt.Sprintf("%s[%d]", list, i)
	if _, n := SplitName(name); n == "" {
		r.add(p+".name", "route name is required")
	} else if j, dup := names[name]; dup {
		r.add(p+".name", "duplicate route name %q (also %s[%d])", name, list, j)
	} else {
		names[name] = i
	}
	for j, h := range hostnames {
		if !validHostname(h, true) {
			r.add(fmt.Sprintf("%s.hostnames[%d]", p, j), "invalid hostname %q", h)
		}
	}
	if rules == 0 {
		r.add(p+".rules", "route needs at least one rule")
	}
}

func validateRule(rule *RouteRule, p string, r *reporter) {
	for i := range rule.Matches {
		validateMatch(&rule.Matches[i], fmt.Sprintf("%s.matches[%d]", p, i), r)
	}
	for i := range rule.Filters {
		validateFilter(&rule.Filters[i], fmt.Sprintf("%s.filters[%d]", p, i), r)
	}
	for i, b := range rule.BackendRefs {
		bp := fmt.Sprintf("%s.backendRefs[%d]", p, i)
		if b.Name == "" {
			r.add(bp+".name", "backend name is required")
		}
		if b.Weight != nil && (*b.Weight < 0 || *b.Weight > maxWeight) {
			r.add(bp+".weight", "weight must be between 0 and %d", maxWeight)
		}
		if b.Priority < 0 || b.Priority > maxWeight {
			r.add(bp+".priority", "priority must be between 0 and %d", maxWeight)
		}
	}
	if t := rule.Timeouts; t != nil {
		nonNegative(r, p+".timeouts.request", t.Request)
		nonNegative(r, p+".timeouts.backendRequest", t.BackendRequest)
		if t.Request > 0 && t.BackendRequest > t.Request {
			r.add(p+".timeouts.backendRequest", "backendRequest %s must not exceed request %s", t.BackendRequest.D(), t.Request.D())
		}
	}
	if rt := rule.Retry; rt != nil {
		if rt.Attempts < 0 || rt.Attempts > 10 {
			r.add(p+".retry.attempts", "retry attempts %d must be between 0 and 10", rt.Attempts)
		}
		nonNegative(r, p+".retry.backoff", rt.Backoff)
		for i, c := range rt.Codes {
			if c < 100 || c > 599 {
				r.add(fmt.Sprintf("%s.retry.codes[%d]", p, i), "status code %d must be between 100 and 599", c)
			}
		}
	}
	validatePolicies(rule.Policies, p+".policies", r)
}

// validatePolicies checks a policies block at any attachment level.
func validatePolicies(pol *Policies, p string, r *reporter) {
	if pol == nil {
		return
	}
	if pol.ClientAuth != nil {
		validateClientAuth(pol.ClientAuth, p+".clientAuth", r)
	}
	validateLimits(pol.RateLimits, p+".rateLimits", true, r)
	if pol.CORS == nil {
		return
	}
	c := pol.CORS
	nonNegative(r, p+".cors.maxAge", c.MaxAge)
	for i, h := range c.AllowHeaders {
		if h != "*" && !validToken(h) {
			r.add(fmt.Sprintf("%s.cors.allowHeaders[%d]", p, i), "invalid header name %q", h)
		}
	}
	for i, h := range c.ExposeHeaders {
		if h != "*" && !validToken(h) {
			r.add(fmt.Sprintf("%s.cors.exposeHeaders[%d]", p, i), "invalid header name %q", h)
		}
	}
	for i, m := range c.AllowMethods {
		if m != "*" && !validToken(m) {
			r.add(fmt.Sprintf("%s.cors.allowMethods[%d]", p, i), "invalid method %q", m)
		}
	}
}

// httpMethods are the methods a route match may name (Gateway API HTTPMethod).
func httpMethods() []string {
	return []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
}

func validateMatch(m *RouteMatch, p string, r *reporter) {
	if pm := m.Path; pm != nil {
		pp := p + ".path"
		switch pm.Type {
		case PathExact, PathPrefix:
			if !strings.HasPrefix(pm.Value, "/") {
				r.add(pp+".value", "path %q must begin with \"/\"", pm.Value)
			}
		case PathRegularExpression:
			if !strings.HasPrefix(pm.Value, "/") && !strings.HasPrefix(pm.Value, "^/") {
				r.add(pp+".value", "path %q must begin with \"/\"", pm.Value)
			} else {
				checkRegexp(r, pp+".value", pm.Value)
			}
		default:
			r.add(pp+".type", "unknown path match type %q (use Exact, PathPrefix or RegularExpression)", pm.Type)
		}
	}
	for i := range m.Headers {
		validateValueMatch(&m.Headers[i], fmt.Sprintf("%s.headers[%d]", p, i), true, r)
	}
	for i := range m.QueryParams {
		validateValueMatch(&m.QueryParams[i], fmt.Sprintf("%s.queryParams[%d]", p, i), false, r)
	}
	if m.Method != "" {
		ok := false
		for _, x := range httpMethods() {
			ok = ok || m.Method == x
		}
		if !ok {
			r.add(p+".method", "unknown method %q (use %s)", m.Method, strings.Join(httpMethods(), ", "))
		}
	}
}

func validateValueMatch(v *ValueMatch, p string, header bool, r *reporter) {
	switch {
	case v.Name == "":
		r.add(p+".name", "name is required")
	case header && !validToken(v.Name):
		r.add(p+".name", "invalid header name %q", v.Name)
	}
	switch v.Type {
	case MatchExact:
	case MatchRegularExpression:
		checkRegexp(r, p+".value", v.Value)
	default:
		r.add(p+".type", "unknown match type %q (use Exact or RegularExpression)", v.Type)
	}
}

// checkRegexp reports a regular expression that does not compile.
func checkRegexp(r *reporter, path, re string) {
	if _, err := regexp.Compile(re); err != nil {
		r.add(path, "invalid regular expression: %v", err)
	}
}

// validToken reports whether s is an RFC 9110 token (header names, methods).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// filterFields lists which typed fields of f are set, by YAML name.
func filterFields(f *Filter) []string {
	var set []string
	if f.RequestHeaderModifier != nil {
		set = append(set, "requestHeaderModifier")
	}
	if f.ResponseHeaderModifier != nil {
		set = append(set, "responseHeaderModifier")
	}
	if f.RequestRedirect != nil {
		set = append(set, "requestRedirect")
	}
	if f.URLRewrite != nil {
		set = append(set, "urlRewrite")
	}
	if f.RequestMirror != nil {
		set = append(set, "requestMirror")
	}
	return set
}

func validateFilter(f *Filter, p string, r *reporter) {
	var field string
	switch f.Type {
	case FilterRequestHeaderModifier:
		field = "requestHeaderModifier"
	case FilterResponseHeaderModifier:
		field = "responseHeaderModifier"
	case FilterRequestRedirect:
		field = "requestRedirect"
	case FilterURLRewrite:
		field = "urlRewrite"
	case FilterRequestMirror:
		field = "requestMirror"
	default:
		r.add(p+".type", "unknown filter type %q (use RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite or RequestMirror)", f.Type)
		return
	}
	present := false
	for _, s := range filterFields(f) {
		if s == field {
			present = true
		} else {
			r.add(p+"."+s, "filter of type %s must not set %s", f.Type, s)
		}
	}
	if !present {
		r.add(p, "filter of type %s needs %s", f.Type, field)
		return
	}
	switch f.Type {
	case FilterRequestHeaderModifier:
		validateHeaderModifier(f.RequestHeaderModifier, p+"."+field, r)
	case FilterResponseHeaderModifier:
		validateHeaderModifier(f.ResponseHeaderModifier, p+"."+field, r)
	case FilterRequestRedirect:
		validateRedirect(f.RequestRedirect, p+"."+field, r)
	case FilterURLRewrite:
		if f.URLRewrite.Hostname != "" && !validHostname(f.URLRewrite.Hostname, false) {
			r.add(p+".urlRewrite.hostname", "invalid hostname %q", f.URLRewrite.Hostname)
		}
		validatePathModifier(f.URLRewrite.Path, p+".urlRewrite.path", r)
	case FilterRequestMirror:
		m := f.RequestMirror
		if m.BackendRef.Name == "" {
			r.add(p+".requestMirror.backendRef.name", "backend name is required")
		}
		if m.Percent != nil {
			percent(r, p+".requestMirror.percent", *m.Percent)
		}
	}
}

func validateHeaderModifier(h *HeaderModifier, p string, r *reporter) {
	for i, x := range h.Set {
		if !validToken(x.Name) {
			r.add(fmt.Sprintf("%s.set[%d].name", p, i), "invalid header name %q", x.Name)
		}
	}
	for i, x := range h.Add {
		if !validToken(x.Name) {
			r.add(fmt.Sprintf("%s.add[%d].name", p, i), "invalid header name %q", x.Name)
		}
	}
	for i, x := range h.Remove {
		if !validToken(x) {
			r.add(fmt.Sprintf("%s.remove[%d]", p, i), "invalid header name %q", x)
		}
	}
}

func validateRedirect(d *Redirect, p string, r *reporter) {
	switch d.StatusCode {
	case 301, 302, 303, 307, 308:
	default:
		r.add(p+".statusCode", "redirect statusCode %d must be 301, 302, 303, 307 or 308", d.StatusCode)
	}
	if d.Scheme != "" && d.Scheme != "http" && d.Scheme != "https" {
		r.add(p+".scheme", "redirect scheme %q must be http or https", d.Scheme)
	}
	if d.Hostname != "" && !validHostname(d.Hostname, false) {
		r.add(p+".hostname", "invalid hostname %q", d.Hostname)
	}
	if d.Port < 0 || d.Port > 65535 {
		r.add(p+".port", "port %d must be between 1 and 65535", d.Port)
	}
	validatePathModifier(d.Path, p+".path", r)
}

func validatePathModifier(m *PathModifier, p string, r *reporter) {
	if m == nil {
		return
	}
	switch m.Type {
	case ReplaceFullPath:
		if !strings.HasPrefix(m.ReplaceFullPath, "/") {
			r.add(p+".replaceFullPath", "path %q must begin with \"/\"", m.ReplaceFullPath)
		}
	case ReplacePrefixMatch:
		if !strings.HasPrefix(m.ReplacePrefixMatch, "/") {
			r.add(p+".replacePrefixMatch", "path %q must begin with \"/\"", m.ReplacePrefixMatch)
		}
	default:
		r.add(p+".type", "unknown path modifier type %q (use ReplaceFullPath or ReplacePrefixMatch)", m.Type)
	}
}

// maxWeight bounds a backendRef's weight (Gateway API's limit) and priority,
// so that sums of weights cannot overflow.
const maxWeight = 1_000_000
