//go:build !unix

package router

import "net"

// wrapReadAhead returns ln: reading ahead needs a raw socket (see readahead.go).
func wrapReadAhead(ln net.Listener) net.Listener { return ln }
