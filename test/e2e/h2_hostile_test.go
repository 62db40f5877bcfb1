package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"golang.org/x/net/http2/hpack"
)

// h2cClient is an HTTP client speaking h2c with prior knowledge.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &p}}
}

// rawH2 opens an h2c connection and sends the preface and SETTINGS.
func rawH2(t *testing.T, addr string) (net.Conn, *http2.Framer) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return c, fr
}

// closedWithin reads frames until the connection ends (GOAWAY then EOF);
// false when it is still open after d.
func closedWithin(c net.Conn, fr *http2.Framer, d time.Duration) (bool, http2.ErrCode) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	code := http2.ErrCodeNo
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			var ne net.Error
			if ok := asNetTimeout(err, &ne); ok {
				return false, code
			}
			return true, code
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			code = ga.ErrCode
		}
	}
}

func asNetTimeout(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok && e.Timeout()
}

func headerBlock(fields ...string) []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return buf.Bytes()
}

// TestHTTP2Floods: an HTTP/2 rapid reset flood and a CONTINUATION flood
// each get their connection closed while the gateway keeps serving other
// clients on the same port.
func TestHTTP2Floods(t *testing.T) {
	web := httpBackend(t)
	g := startGateway(t, fmt.Sprintf(`
server: {maxHeaderBytes: 16384}
listeners:
  - {name: web, port: {{PORT}}, h2c: true}
routes:
  - {name: web, rules: [{backendRefs: [{name: web}]}]}
backends:
  - {name: web, static: {endpoints: ['%s']}}
`, web))
	client := h2cClient()
	check := func(when string) {
		t.Helper()
		resp, err := client.Get(g.URL("/ok"))
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Proto != "HTTP/2.0" || string(b) != "GET /ok " {
			t.Fatalf("%s: %s %q", when, resp.Proto, b)
		}
	}
	check("before the floods")
	testutil.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(g.Logs(), `"path":"/ok"`) && strings.Contains(g.Logs(), `"proto":"HTTP/2"`)
	}, "the HTTP/2 request in the access log, with its protocol")

	t.Run("rapid reset", func(t *testing.T) {
		c, fr := rawH2(t, g.Addr())
		block := headerBlock(":method", "GET", ":scheme", "http", ":path", "/slow", ":authority", g.Addr())
		sent := 0
		for id := uint32(1); id < 2*5000; id += 2 {
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true}); err != nil {
				break
			}
			if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
				break
			}
			sent++
		}
		closed, code := closedWithin(c, fr, 5*time.Second)
		if !closed {
			t.Errorf("the connection that reset %d streams is still open", sent)
		}
		t.Logf("wrote %d resets; GOAWAY %v", sent, code)
		testutil.Eventually(t, 5*time.Second, func() bool { return strings.Contains(g.Logs(), "resets most of its streams") },
			"the reset guard closed the connection")
		check("after the rapid reset flood")
	})

	t.Run("continuation flood", func(t *testing.T) {
		c, fr := rawH2(t, g.Addr())
		first := headerBlock(":method", "GET", ":scheme", "http", ":path", "/", ":authority", g.Addr())
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true}); err != nil {
			t.Fatal(err)
		}
		filler := headerBlock("x-filler", strings.Repeat("a", 4000))
		written := 0
		for written < 64<<20 {
			if err := fr.WriteContinuation(1, false, filler); err != nil {
				break
			}
			written += len(filler)
		}
		if written >= 64<<20 {
			t.Errorf("the gateway read %d MiB of one header block", written>>20)
		}
		if closed, _ := closedWithin(c, fr, 5*time.Second); !closed {
			t.Error("the CONTINUATION flood's connection is still open")
		}
		check("after the CONTINUATION flood")
	})
}
