package ai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/inference"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// An inferencePool with appProtocol kubernetes.io/h2c is spoken to over
// HTTP/2 cleartext with prior knowledge, through net/http's HTTP/2 client
// (upstream.HTTP2Transport, as gRPC backends are). The answer is turned
// into a fasthttp.Response, a buffered body or a body stream, so that
// everything after the upstream call (translation, stream relay, usage,
// health, served-endpoint reporting) is the HTTP/1.1 path's own.

const (
	// h2cIdleConns is how long an idle h2c connection to a model server stays open.
	h2cIdleConns = 90 * time.Second
	// h2cMaxHeaderBytes bounds a model server's response headers.
	h2cMaxHeaderBytes = 64 << 10
)

var (
	// errH2CTimeout ends an h2c attempt that has no response (headers, or
	// the whole body when not streamed) within its timeout.
	errH2CTimeout = fmt.Errorf("ai: h2c upstream: %w", os.ErrDeadlineExceeded)
	// errH2CIdle ends an h2c stream that sent nothing for its idle timeout.
	errH2CIdle = fmt.Errorf("ai: h2c upstream stream idle: %w", os.ErrDeadlineExceeded)
)

// copyBufs are the buffers a buffered h2c answer is copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// poolH2C is the h2c client of pool key, shared through gen with the
// snapshots before and after it; nil for a pool that speaks HTTP/1.1.
func poolH2C(key string, ip *config.InferencePool, gen *upstream.Generation) (*http.Transport, error) {
	if ip.AppProtocol != config.AppProtocolH2C {
		return nil, nil
	}
	v, err := gen.Get("pool-h2c|"+key, func() (any, func(), error) {
		tr := upstream.HTTP2Transport(nil, dialTimeout, h2cIdleConns, nil)
		tr.MaxResponseHeaderBytes = h2cMaxHeaderBytes
		return tr, tr.CloseIdleConnections, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*http.Transport), nil
}

// doH2C sends the attempt's request to one pool endpoint over h2c, with the
// picker's body and headers, as doEndpoint does over HTTP/1.1: timeout
// bounds the wait for the response headers of a stream, for the whole
// response otherwise; a buffered body is bounded by maxResponseBytes. An
// opaque request's answer is always a stream, whatever its status.
func (s *exchange) doH2C(b *backend, pc poolCall, d *inference.Decision, ep string, timeout time.Duration) (*fasthttp.Response, error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	// net/http may read a request body after RoundTrip returns (its writer
	// goroutine, until it closes the body), and d.Body is often fasthttp's
	// request buffer, reused once the exchange ends: the transport gets a
	// copy.
	req, err := http.NewRequestWithContext(ctx, pc.method, "http://"+ep+pc.path, bytes.NewReader(bytes.Clone(d.Body)))
	if err != nil {
		cancel(nil)
		// The parse error quotes the URL, whose query the client wrote.
		return nil, errors.New("ai: h2c request: the request line does not make a URL")
	}
	h := req.Header
	stream := true
	if up := pc.up; up != nil {
		ct := up.ContentType
		if ct == "" {
			ct = "application/json"
		}
		h.Set("Content-Type", ct)
		h.Set("User-Agent", "switchyard")
		for _, x := range up.Header {
			h.Set(x.Name, x.Value)
		}
		stream = up.Stream
	} else {
		s.opaqueH2C(req)
	}
	if s.x.RequestID != "" {
		h.Set("X-Request-Id", s.x.RequestID)
	}
	for _, x := range d.Headers {
		h.Set(x.Name, x.Value)
	}
	timer := time.AfterFunc(timeout, func() { cancel(errH2CTimeout) })
	hr, err := b.h2c.RoundTrip(req)
	if err != nil {
		timer.Stop()
		if errors.Is(context.Cause(ctx), errH2CTimeout) {
			err = errH2CTimeout
		}
		cancel(nil)
		return nil, err
	}
	resp := fasthttp.AcquireResponse()
	resp.SetStatusCode(hr.StatusCode)
	for k, vs := range hr.Header {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue
		}
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	head := pc.method == http.MethodHead // headers only: never a stream
	if stream && !head && (pc.up == nil || hr.StatusCode >= 200 && hr.StatusCode <= 299) {
		if !timer.Stop() { // the timeout passed as the headers came
			_ = hr.Body.Close()
			fasthttp.ReleaseResponse(resp)
			cancel(nil)
			return nil, errH2CTimeout
		}
		resp.SetBodyStream(&h2cBody{body: hr.Body, ctx: ctx, cancel: cancel}, -1)
		return resp, nil
	}
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(resp.BodyWriter(), io.LimitReader(hr.Body, maxResponseBytes+1), *buf)
	copyBufs.Put(buf)
	timedOut := !timer.Stop()
	_ = hr.Body.Close()
	cancel(nil)
	switch {
	case timedOut:
		err = errH2CTimeout
	case err == nil && n > maxResponseBytes:
		err = fmt.Errorf("ai: h2c upstream response: %w", fasthttp.ErrBodyTooLarge)
	}
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	if head && hr.ContentLength >= 0 {
		resp.Header.SetContentLength(int(hr.ContentLength)) // what a GET would carry
	}
	return resp, nil
}

// opaqueH2C sets req's headers to the client's (an opaque request): all
// but hop-by-hop ones, framing (net/http sets Content-Length from the
// body), Expect and the credential the gateway's client auth consumed; and
// the client's Host.
func (s *exchange) opaqueH2C(req *http.Request) {
	in := &s.ctx.Request.Header
	conn := in.Peek("Connection")
	for k, v := range in.All() {
		switch {
		case upstream.IsHopByHop(k), equalFoldASCII(k, "host"), equalFoldASCII(k, "content-length"), equalFoldASCII(k, "expect"):
			continue
		case len(conn) > 0 && upstream.NamedByConnection(conn, k):
			continue
		case s.x.Credential && (equalFoldASCII(k, "authorization") || equalFoldASCII(k, "x-api-key") || equalFoldASCII(k, "api-key")):
			continue
		}
		req.Header.Add(string(k), string(v))
	}
	req.Host = string(in.Host())
}

// h2cBody is a streamed h2c response body as a fasthttp body stream. Once
// the stream is committed (streamIdle) every Read is bounded by the idle
// timeout: a timer, armed for the Read, cancels the stream when it fires.
// Close (fasthttp's CloseBodyStream, ReleaseResponse) may come from another
// goroutine while a Read waits: it ends that Read.
type h2cBody struct {
	body   io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   atomic.Int64 // nanoseconds; > 0: each Read is bounded by it
	timer  atomic.Pointer[time.Timer]
}

// setIdle bounds each following Read by d (d <= 0: no bound).
func (b *h2cBody) setIdle(d time.Duration) {
	if d > 0 && b.timer.Load() == nil {
		t := time.AfterFunc(time.Hour, func() { b.cancel(errH2CIdle) })
		t.Stop()
		b.timer.Store(t)
	}
	b.idle.Store(int64(d))
}

// Read implements io.Reader.
func (b *h2cBody) Read(p []byte) (int, error) {
	d := time.Duration(b.idle.Load())
	t := b.timer.Load()
	if d > 0 && t != nil {
		t.Reset(d)
	}
	n, err := b.body.Read(p)
	if d > 0 && t != nil {
		t.Stop()
	}
	if err != nil && !errors.Is(err, io.EOF) && errors.Is(context.Cause(b.ctx), errH2CIdle) {
		err = errH2CIdle
	}
	return n, err
}

// Close implements io.Closer: it ends the stream (a pending Read returns).
func (b *h2cBody) Close() error {
	if t := b.timer.Load(); t != nil {
		t.Stop()
	}
	err := b.body.Close()
	b.cancel(nil)
	return err
}
