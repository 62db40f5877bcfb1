package upstream

import (
	"errors"
	"io"
	"sync"

	"github.com/valyala/fasthttp"
)

// errStreamClosed is returned by Read after the stream was closed.
var errStreamClosed = errors.New("upstream: response stream closed")

// bodyStream hands an upstream response body to the fasthttp server. The server
// reads it (flushing each chunk of a chunked response) and closes it when done or
// when the client goes away; closing releases the upstream response and connection
// (kept alive when the body was read to the end) and ends the endpoint's active
// request. bodyStream implements fasthttp.ReadCloserWithError.
type bodyStream struct {
	mu     sync.Mutex
	resp   *fasthttp.Response
	body   io.Reader
	st     *endpointState
	owner  *sync.Pool
	closed bool
	// onClose, when set, runs once the body has been written or abandoned.
	onClose func()
}

var (
	_ fasthttp.ReadCloserWithError = (*bodyStream)(nil)
	// The router times a streamed response through OnClose.
	_ interface{ OnClose(func()) } = (*bodyStream)(nil)
)

func (p *Pool) acquireStream(resp *fasthttp.Response, st *endpointState) *bodyStream {
	s, _ := p.streams.Get().(*bodyStream)
	if s == nil {
		s = &bodyStream{}
	}
	s.resp, s.body, s.st, s.owner, s.closed, s.onClose = resp, resp.BodyStream(), st, &p.streams, false, nil
	return s
}

// Read implements io.Reader.
func (s *bodyStream) Read(b []byte) (int, error) {
	if s.body == nil {
		return 0, errStreamClosed
	}
	return s.body.Read(b)
}

// CloseWithError implements fasthttp.ReadCloserWithError. It is idempotent.
func (s *bodyStream) CloseWithError(error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	resp, st, owner, onClose := s.resp, s.st, s.owner, s.onClose
	s.resp, s.body, s.st, s.owner, s.onClose = nil, nil, nil, nil, nil
	s.mu.Unlock()
	err := resp.CloseBodyStream()
	fasthttp.ReleaseResponse(resp)
	st.active.Add(-1)
	owner.Put(s)
	if onClose != nil {
		onClose()
	}
	return err
}

// OnClose registers fn to run once the body has been written to the client or
// abandoned (the router's access log and metrics use it to time a stream).
func (s *bodyStream) OnClose(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onClose = fn
}
