package ai

import "strings"

// redactURL returns an upstream URL fit for a log: without its userinfo
// (http://user:password@host) and without its query and fragment, any of
// which may carry credentials. It errs on the side of dropping: the userinfo
// ends at the URL's last '@' (a password may hold an unescaped '/', '?' or
// '#'), so an '@' further on, in a path or query, drops the host from the
// log line rather than risk a secret in it. Only failure paths call it.
func redactURL(u string) string {
	if i := strings.Index(u, "//"); i >= 0 {
		if at := strings.LastIndexByte(u, '@'); at > i {
			u = u[:i+2] + u[at+1:]
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u
}
