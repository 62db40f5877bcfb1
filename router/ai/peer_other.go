//go:build !unix

package ai

import "net"

// peerClosed cannot tell on this platform: a client that left is noticed when
// a write fails.
func peerClosed(net.Conn) bool { return false }
