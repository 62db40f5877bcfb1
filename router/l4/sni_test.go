package l4

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// splitConn writes in chunks of n bytes, pausing between them, so that a
// ClientHello spans many TCP segments.
type splitConn struct {
	net.Conn
	n int
}

func (s *splitConn) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i += s.n {
		j := min(i+s.n, len(p))
		if _, err := s.Conn.Write(p[i:j]); err != nil {
			return i, err
		}
		time.Sleep(time.Millisecond)
	}
	return len(p), nil
}

// pair returns a connected loopback client and server.
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return client, server
}

func TestPeekHello(t *testing.T) {
	tests := []struct {
		name    string
		send    func(c net.Conn)
		sni     string
		wantErr string // reason from helloReason
	}{{
		name: "whole hello",
		send: func(c net.Conn) {
			_ = tls.Client(c, &tls.Config{ServerName: "a.example.com", InsecureSkipVerify: true}).Handshake() //nolint:gosec // no server answers
		},
		sni: "a.example.com",
	}, {
		name: "hello split over many segments",
		send: func(c net.Conn) {
			_ = tls.Client(&splitConn{Conn: c, n: 20}, &tls.Config{ServerName: "split.example.com", InsecureSkipVerify: true}).Handshake() //nolint:gosec // no server answers
		},
		sni: "split.example.com",
	}, {
		name: "no server name",
		send: func(c net.Conn) {
			_ = tls.Client(c, &tls.Config{InsecureSkipVerify: true}).Handshake() //nolint:gosec // no server answers
		},
		sni: "",
	}, {
		name:    "garbage instead of TLS",
		send:    func(c net.Conn) { _, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) },
		wantErr: "bad_client_hello",
	}, {
		name: "hello that never completes",
		send: func(c net.Conn) {
			// A record header announcing 512 bytes, then 10 of them.
			_, _ = c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 0, 0, 0})
		},
		wantErr: "handshake_timeout",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := pair(t)
			recorded := &lockedBuffer{}
			go tt.send(&teeConn{Conn: client, w: recorded})
			start := time.Now()
			timeout := 5 * time.Second
			if tt.wantErr != "" {
				timeout = 300 * time.Millisecond
			}
			h, err := peekHello(server, timeout)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("no error; SNI %q", h.serverName)
				}
				if got := helloReason(err); got != tt.wantErr {
					t.Fatalf("reason %s (%v), want %s", got, err, tt.wantErr)
				}
				if time.Since(start) > 2*time.Second {
					t.Errorf("took %v", time.Since(start))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.serverName != tt.sni {
				t.Errorf("SNI %q, want %q", h.serverName, tt.sni)
			}
			// Everything read is replayed to the backend, byte for byte.
			recorded.mu.Lock()
			defer recorded.mu.Unlock()
			if !bytes.HasPrefix(recorded.b.Bytes(), h.replay) || len(h.replay) < 5 || h.replay[0] != 0x16 {
				t.Errorf("replay is not the client's bytes: %s", hex.EncodeToString(h.replay[:min(16, len(h.replay))]))
			}
		})
	}
}

// teeConn copies what is written into w.
type teeConn struct {
	net.Conn
	w *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (c *teeConn) Write(p []byte) (int, error) {
	c.w.mu.Lock()
	c.w.b.Write(p)
	c.w.mu.Unlock()
	return c.Conn.Write(p)
}

func TestProxyHeader(t *testing.T) {
	v4 := func(s string, p int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(s), Port: p} }
	tests := []struct {
		name, version string
		src, dst      net.Addr
		want          string
	}{
		{"v1 ipv4", "v1", v4("192.0.2.1", 5000), v4("198.51.100.2", 443), "PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\n"},
		{"v1 ipv6", "v1", v4("2001:db8::1", 5000), v4("2001:db8::2", 443), "PROXY TCP6 2001:db8::1 2001:db8::2 5000 443\r\n"},
		{"v1 unknown", "v1", &net.UnixAddr{Name: "x"}, v4("192.0.2.1", 1), "PROXY UNKNOWN\r\n"},
		{"v2 ipv4", "v2", v4("192.0.2.1", 5000), v4("198.51.100.2", 443),
			"0d0a0d0a000d0a515549540a" + "21" + "11" + "000c" + "c0000201" + "c6336402" + "1388" + "01bb"},
		{"v2 local", "v2", &net.UnixAddr{Name: "x"}, v4("192.0.2.1", 1), "0d0a0d0a000d0a515549540a" + "20000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := proxyHeader(tt.version, tt.src, tt.dst)
			if strings.HasPrefix(tt.version, "v2") {
				if h := hex.EncodeToString(got); h != tt.want {
					t.Errorf("got %s\nwant %s", h, tt.want)
				}
				return
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
