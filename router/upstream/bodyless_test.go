package upstream

import (
	"bufio"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// TestForwardResponsesWithoutBody: a HEAD answer, a 204 and a 304 reach the client
// with their headers and no body, promptly, and leave the client's keep-alive
// connection (and the upstream one) usable: a second request on the same client
// connection gets its answer.
func TestForwardResponsesWithoutBody(t *testing.T) {
	tests := []noBodyCase{
		{name: "HEAD of a sized body", method: "HEAD", path: "/sized", status: 200, header: "X-Kind", value: "sized", contentLength: "11"},
		{name: "HEAD of a chunked body", method: "HEAD", path: "/chunked", status: 200, header: "X-Kind", value: "chunked"},
		{name: "HEAD of an SSE stream", method: "HEAD", path: "/sse", status: 200, header: "Content-Type", value: "text/event-stream"},
		{name: "204 No Content", method: "GET", path: "/204", status: 204, header: "X-Kind", value: "204"},
		{name: "204 to a POST", method: "POST", path: "/204", status: 204, header: "X-Kind", value: "204"},
		{name: "304 Not Modified", method: "GET", path: "/304", status: 304, header: "Etag", value: `"v1"`},
	}
	ep := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sized":
			w.Header().Set("X-Kind", "sized")
			w.Header().Set("Content-Length", "11")
			_, _ = io.WriteString(w, "hello world")
		case "/chunked":
			w.Header().Set("X-Kind", "chunked")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "hello world")
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			if r.Method != http.MethodHead {
				<-r.Context().Done() // an endless stream
			}
		case "/204":
			w.Header().Set("X-Kind", "204")
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.Header().Set("Etag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
		default:
			_, _ = io.WriteString(w, "after")
		}
	})
	s := static(ep)
	s.ConnectionPool.MaxConnections = 1 // the second request needs the same upstream connection back
	p := newTestPool(t, s, nil)
	url, _ := frontend(t, p, Options{}, nil)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkNoBody(t, p, url, tc) })
	}
}

// noBodyCase is one request whose answer has no body.
type noBodyCase struct {
	name   string
	method string
	path   string
	status int
	// header is a header the upstream sets that the client must see.
	header, value string
	// contentLength is the Content-Length the client must see ("" for none).
	contentLength string
}

// checkNoBody sends tc on a new client connection to the frontend at url, checks
// the bodiless answer, then sends GET /after on the same connection and expects
// "after".
func checkNoBody(t *testing.T, p *Pool, url string, tc noBodyCase) {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A response that waits for a body that never comes fails here, not by hanging.
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	br := bufio.NewReader(c)

	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: client.test\r\nContent-Length: 0\r\n\r\n", tc.method, tc.path)
	req, _ := http.NewRequest(tc.method, url+tc.path, nil)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("first response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("first body: %v", err)
	}
	if resp.StatusCode != tc.status || len(body) != 0 {
		t.Fatalf("got %d with body %q, want %d and no body", resp.StatusCode, body, tc.status)
	}
	if got := resp.Header.Get(tc.header); got != tc.value {
		t.Errorf("%s %q, want %q", tc.header, got, tc.value)
	}
	// RFC 9110 sections 8.6, 15.3.5, 15.4.5: no Transfer-Encoding on 204 or 304, no
	// Content-Length on 204; a HEAD or 304 keeps the Content-Length a GET would get.
	if te := resp.TransferEncoding; tc.status != 200 && len(te) > 0 {
		t.Errorf("Transfer-Encoding %v on a %d", te, tc.status)
	}
	if cl := resp.Header.Get("Content-Length"); cl != tc.contentLength {
		t.Errorf("Content-Length %q, want %q", cl, tc.contentLength)
	}
	if resp.Close {
		t.Fatal("the gateway closes the client connection")
	}

	// The same client connection carries the next request.
	fmt.Fprintf(c, "GET /after HTTP/1.1\r\nHost: client.test\r\n\r\n")
	req2, _ := http.NewRequest("GET", url+"/after", nil)
	resp2, err := http.ReadResponse(br, req2)
	if err != nil {
		t.Fatalf("second response on the same connection: %v", err)
	}
	body2, err := io.ReadAll(resp2.Body)
	if err != nil || resp2.StatusCode != 200 || string(body2) != "after" {
		t.Fatalf("second response: %d %q %v", resp2.StatusCode, body2, err)
	}
	testutil.Eventually(t, time.Second, func() bool { return p.Status()["b"][0].Active == 0 }, "no request left in flight")
}

// TestForwardRawResponsesWithoutBody: byte-exact upstream answers that real servers
// send, with framing headers but no body (a HEAD answered with Transfer-Encoding or
// Content-Length, a 204 or 304 with Content-Length: 0 or a stray Transfer-Encoding),
// are relayed without the gateway waiting for a body, and the upstream connection
// serves the next request (one connection, so a desynchronised one would show).
func TestForwardRawResponsesWithoutBody(t *testing.T) {
	responses := map[string]string{
		"/head-chunked": "HTTP/1.1 200 OK\r\nX-Kind: head-chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		"/head-sized":   "HTTP/1.1 200 OK\r\nX-Kind: head-sized\r\nContent-Length: 11\r\n\r\n",
		"/204-cl0":      "HTTP/1.1 204 No Content\r\nX-Kind: 204-cl0\r\nContent-Length: 0\r\n\r\n",
		"/204-chunked":  "HTTP/1.1 204 No Content\r\nX-Kind: 204-chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		"/304-chunked":  "HTTP/1.1 304 Not Modified\r\nEtag: \"v3\"\r\nTransfer-Encoding: chunked\r\n\r\n",
		// A 304 may carry the Content-Length of the representation it stands for
		// (net/http upstreams drop it, so only a raw upstream shows it is kept).
		"/304-sized": "HTTP/1.1 304 Not Modified\r\nEtag: \"v4\"\r\nContent-Length: 42\r\n\r\n",
		"/after":     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					out, ok := responses[req.URL.Path]
					if !ok {
						out = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
					}
					if _, err := io.WriteString(c, out); err != nil {
						return
					}
				}
			}()
		}
	}()
	s := static(endpointOf(t, ln.Addr().String()))
	s.ConnectionPool.MaxConnections = 1
	p := newTestPool(t, s, nil)
	url, _ := frontend(t, p, Options{}, nil)

	tests := []noBodyCase{
		{name: "HEAD answered with Transfer-Encoding", method: "HEAD", path: "/head-chunked", status: 200, header: "X-Kind", value: "head-chunked"},
		{name: "HEAD answered with Content-Length", method: "HEAD", path: "/head-sized", status: 200, header: "X-Kind", value: "head-sized", contentLength: "11"},
		{name: "204 with Content-Length 0", method: "GET", path: "/204-cl0", status: 204, header: "X-Kind", value: "204-cl0"},
		{name: "204 with Transfer-Encoding", method: "GET", path: "/204-chunked", status: 204, header: "X-Kind", value: "204-chunked"},
		{name: "304 with Transfer-Encoding", method: "GET", path: "/304-chunked", status: 304, header: "Etag", value: `"v3"`},
		{name: "304 with Content-Length", method: "GET", path: "/304-sized", status: 304, header: "Etag", value: `"v4"`, contentLength: "42"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkNoBody(t, p, url, tc) })
	}
}

// TestForwardHeadDoesNotWaitForBody: Forward returns a HEAD answer at once (no body
// stream to drain), even from an upstream that would stream forever on a GET.
func TestForwardHeadDoesNotWaitForBody(t *testing.T) {
	ep := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		if r.Method != http.MethodHead {
			<-r.Context().Done()
		}
	})
	p := newTestPool(t, static(ep), nil)
	opts := Options{Timeouts: &config.Timeouts{Request: dur(2 * time.Second)}}
	for i := range 2 {
		start := time.Now()
		ctx, res, err := forwardOnce(p, opts, "HEAD", "/")
		if err != nil || res.Status != 200 {
			t.Fatalf("HEAD %d: %v %d", i, err, res.Status)
		}
		if ctx.Response.IsBodyStream() {
			t.Fatalf("HEAD %d: the response has a body stream", i)
		}
		if b := finish(ctx); len(b) != 0 {
			t.Fatalf("HEAD %d: body %q", i, b)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("HEAD %d took %v", i, took)
		}
		if a := p.Status()["b"][0].Active; a != 0 {
			t.Fatalf("HEAD %d: %d requests still active", i, a)
		}
	}
}
