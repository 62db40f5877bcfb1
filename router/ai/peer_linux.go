//go:build linux

package ai

import "golang.org/x/sys/unix"

// tcpCloseWait is the kernel's TCP_CLOSE_WAIT state: the peer sent its FIN.
const tcpCloseWait = 8

// finReceived reports whether the peer of the TCP socket fd has closed its
// side (the socket is in CLOSE_WAIT), whatever bytes are still unread.
func finReceived(fd int) bool {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	return err == nil && info.State == tcpCloseWait
}
