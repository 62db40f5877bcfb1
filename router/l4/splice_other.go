//go:build !linux

package l4

import (
	"net"
	"sync/atomic"
	"time"
)

// relayTCP is the splice relay of Linux; elsewhere the copy loop serves.
func relayTCP(client, backend net.Conn, idle time.Duration, in, out *atomic.Int64) (err error, ok bool) {
	return nil, false
}
