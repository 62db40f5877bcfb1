package l4

import (
	"encoding/binary"
	"fmt"
	"net"

	"github.com/switchyard-ai/switchyard/config"
)

// proxyHeader is the PROXY protocol header (v1 text or v2 binary, as
// HAProxy's specification defines them) telling a backend the client's
// address (src) and the address it connected to (dst). Addresses that are
// not TCP become UNKNOWN (v1) or LOCAL (v2).
func proxyHeader(version string, src, dst net.Addr) []byte {
	s, sok := src.(*net.TCPAddr)
	d, dok := dst.(*net.TCPAddr)
	ok := sok && dok
	var s4, d4 net.IP
	if ok {
		s4, d4 = s.IP.To4(), d.IP.To4()
		if (s4 == nil) != (d4 == nil) { // mixed families: say both as IPv6
			s4, d4 = nil, nil
		}
	}
	if version == config.ProxyProtocolV1 {
		switch {
		case !ok:
			return []byte("PROXY UNKNOWN\r\n")
		case s4 != nil:
			return fmt.Appendf(nil, "PROXY TCP4 %s %s %d %d\r\n", s4, d4, s.Port, d.Port)
		default:
			return fmt.Appendf(nil, "PROXY TCP6 %s %s %d %d\r\n", s.IP.To16(), d.IP.To16(), s.Port, d.Port)
		}
	}
	h := []byte("\r\n\r\n\x00\r\nQUIT\n")
	switch {
	case !ok:
		return append(h, 0x20, 0x00, 0x00, 0x00) // v2 LOCAL, no address
	case s4 != nil:
		h = append(h, 0x21, 0x11, 0x00, 12) // v2 PROXY, TCP over IPv4, 12 bytes
		h = append(h, s4...)
		h = append(h, d4...)
	default:
		h = append(h, 0x21, 0x21, 0x00, 36) // TCP over IPv6, 36 bytes
		h = append(h, s.IP.To16()...)
		h = append(h, d.IP.To16()...)
	}
	h = binary.BigEndian.AppendUint16(h, uint16(s.Port))
	return binary.BigEndian.AppendUint16(h, uint16(d.Port))
}
