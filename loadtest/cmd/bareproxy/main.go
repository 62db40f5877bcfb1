// Command bareproxy is the floor of the load tests: the least a fasthttp
// reverse proxy can do. One fasthttp.HostClient to one upstream, request and
// response forwarded as they are, response bodies streamed (or, with
// -buffered, read whole and sent with a Content-Length: fewer writes for
// small answers, no relayed streams; no scenario uses it).
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // with -pprof
	"os"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	upstream := flag.String("upstream", "", "upstream host:port")
	pprofAddr := flag.String("pprof", "", "serve Go's profiles (net/http/pprof) on this address, for comparisons with the gateway's")
	buffered := flag.Bool("buffered", false, "read whole upstream bodies and answer with a Content-Length (one write per "+
		"response) instead of streaming them chunked (three writes for a small JSON answer); streams are never relayed")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, nil) }() //nolint:gosec // a loopback diagnostic
	}
	if *upstream == "" {
		fmt.Fprintln(os.Stderr, "bareproxy: -upstream is required")
		os.Exit(2)
	}
	// The dialer is Switchyard's (1,000 dials at once, 5 s each): with
	// fasthttp's default 3 s, ~20 % of the streams of the 9,500-stream
	// scenario failed with 502 while they queued for a dial, and a floor that
	// holds fewer streams than it was asked to looks cheaper per stream.
	dialer := &fasthttp.TCPDialer{Concurrency: 1000}
	client := &fasthttp.HostClient{
		Addr:               *upstream,
		MaxConns:           1 << 16,
		StreamResponseBody: !*buffered,
		ReadBufferSize:     16 << 10,
		Dial:               func(addr string) (net.Conn, error) { return dialer.DialTimeout(addr, 5*time.Second) },
	}
	handler := func(ctx *fasthttp.RequestCtx) {
		req := &ctx.Request
		req.Header.Del("Connection")
		resp := fasthttp.AcquireResponse()
		if err := client.Do(req, resp); err != nil {
			fasthttp.ReleaseResponse(resp)
			ctx.Error("bad gateway: "+err.Error(), fasthttp.StatusBadGateway)
			return
		}
		resp.Header.Del("Connection")
		resp.Header.CopyTo(&ctx.Response.Header)
		if s := resp.BodyStream(); s != nil {
			// Stream the body; the response is released once it is copied.
			ctx.Response.SetBodyStream(&releasing{r: s, resp: resp}, -1)
			return
		}
		ctx.Response.SetBodyRaw(append([]byte(nil), resp.Body()...))
		fasthttp.ReleaseResponse(resp)
	}
	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bareproxy: listen:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	s := &fasthttp.Server{Handler: handler, Name: "bareproxy", Concurrency: 1 << 20,
		MaxRequestBodySize: 64 << 20, StreamRequestBody: false, ReadBufferSize: 16 << 10}
	if err := s.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "bareproxy: serve:", err)
		os.Exit(1)
	}
}

// releasing reads a streamed upstream body and releases its response on Close.
type releasing struct {
	r    interface{ Read([]byte) (int, error) }
	resp *fasthttp.Response
}

func (r *releasing) Read(p []byte) (int, error) { return r.r.Read(p) }

// Close releases the upstream response (fasthttp calls it after the copy).
func (r *releasing) Close() error {
	err := r.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(r.resp)
	return err
}
