package l4

import (
	"io"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// relayTCP relays between two TCP sockets with io.Copy, which splices on
// Linux (the bytes never enter user space), and watches idleness with the
// kernel's own clock of each socket (TCP_INFO: milliseconds since data last
// arrived) instead of a deadline per read. It reports ok false when the
// sockets cannot be watched; the caller then uses the copy loop.
func relayTCP(client, backend net.Conn, idle time.Duration, in, out *atomic.Int64) (err error, ok bool) {
	c, cok := client.(*net.TCPConn)
	b, bok := backend.(*net.TCPConn)
	if !cok || !bok {
		return nil, false
	}
	if _, werr := sinceData(c); werr != nil {
		return nil, false
	}
	errc := make(chan error, 2)
	copyOne := func(dst, src *net.TCPConn, n *atomic.Int64) {
		k, err := io.Copy(dst, src)
		n.Add(k)
		if err == nil {
			_ = dst.CloseWrite()
		}
		errc <- err
	}
	go copyOne(b, c, in)
	go copyOne(c, b, out)
	var tick <-chan time.Time
	if idle > 0 {
		t := time.NewTicker(max(idle/4, 10*time.Millisecond))
		defer t.Stop()
		tick = t.C
	}
	var first error
	for done := 0; done < 2; {
		select {
		case e := <-errc:
			done++
			if e != nil && first == nil {
				first = e
				_ = c.Close()
				_ = b.Close()
			}
		case <-tick:
			dc, e1 := sinceData(c)
			db, e2 := sinceData(b)
			if e1 == nil && e2 == nil && dc >= idle && db >= idle {
				if first == nil {
					first = errIdle
				}
				_ = c.Close()
				_ = b.Close()
			}
		}
	}
	return first, true
}

// sinceData is the time since data last arrived on c, by the kernel's TCP_INFO.
func sinceData(c *net.TCPConn) (time.Duration, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return 0, err
	}
	if gerr != nil {
		return 0, gerr
	}
	return time.Duration(info.Last_data_recv) * time.Millisecond, nil
}
