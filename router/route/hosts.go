package route

import "strings"

// Host handling. Hostnames are compared lower-case without a trailing dot. A
// wildcard "*.example.com" is stored by its suffix "example.com" and, as the
// Gateway API says, matches one or more labels before it ("a.example.com",
// "a.b.example.com") but not "example.com" itself.

// canonHost strips a port from a Host header value, lower-cases it and drops a
// trailing dot. It copies into dst only when the value must change case.
func canonHost(dst, host []byte) []byte {
	if len(host) > 0 && host[0] == '[' {
		if i := indexByte(host, ']'); i > 0 {
			host = host[:i+1]
		}
	} else if i := lastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	for i, c := range host {
		if 'A' <= c && c <= 'Z' {
			dst = append(dst, host[:i]...)
			for _, c := range host[i:] {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				dst = append(dst, c)
			}
			return dst
		}
	}
	return host
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// normHostname canonicalizes a configured hostname: lower-case, no trailing dot.
// "*" alone means any host and returns "".
func normHostname(h string) string {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if h == "*" {
		return ""
	}
	return h
}

// wildcardSuffix returns "example.com" for "*.example.com".
func wildcardSuffix(h string) (string, bool) {
	if s, ok := strings.CutPrefix(h, "*."); ok {
		return s, true
	}
	return "", false
}

// wildcardMatches reports whether host (not a wildcard) falls under the
// wildcard with the given suffix: at least one label before ".suffix".
func wildcardMatches(suffix, host string) bool {
	return len(host) > len(suffix)+1 && strings.HasSuffix(host, suffix) && host[len(host)-len(suffix)-1] == '.'
}

// hostKind says which bucket of a listener a route hostname lands in.
type hostKind int

const (
	hostAny hostKind = iota
	hostExact
	hostWildcard
)

// intersect decides whether route hostname rh (canonical, "" = any) can receive
// traffic through a listener with hostname lh (canonical, "" = any), and if so
// the bucket it goes to: exact by rh, wildcard by rh's suffix, or any.
func intersect(lh, rh string) (hostKind, string, bool) {
	if rh == "" {
		return hostAny, "", true
	}
	rs, rwild := wildcardSuffix(rh)
	if lh != "" {
		ls, lwild := wildcardSuffix(lh)
		switch {
		case !rwild && !lwild:
			if rh != lh {
				return 0, "", false
			}
		case !rwild && lwild:
			if !wildcardMatches(ls, rh) {
				return 0, "", false
			}
		case rwild && !lwild:
			if !wildcardMatches(rs, lh) {
				return 0, "", false
			}
		default: // both wildcards: one suffix must lie under the other
			if rs != ls && !wildcardMatches(ls, rs) && !wildcardMatches(rs, ls) {
				return 0, "", false
			}
		}
	}
	if rwild {
		return hostWildcard, rs, true
	}
	return hostExact, rh, true
}
