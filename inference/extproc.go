package inference

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard-ai/switchyard/config"
)

// The protocol's names.
const (
	// HeaderDestination is the picker's ordered endpoint list (ip:port[,ip:port...]).
	HeaderDestination = "x-gateway-destination-endpoint"
	// MetadataLB is the metadata namespace of the destination and served endpoints.
	MetadataLB = "envoy.lb"
	// MetadataServed is the key of the endpoint that served, on the response path.
	MetadataServed = "x-gateway-destination-endpoint-served"
	// MetadataSubset is the namespace of the subset hint.
	MetadataSubset = "envoy.lb.subset_hint"
	// MetadataSubsetKey is the subset hint's key: a list of ip:port or bare IPs.
	MetadataSubsetKey = "x-gateway-destination-endpoint-subset"
)

// bodyChunk is the largest request_body message sent to a picker.
const bodyChunk = 62000

// maxPickerBody bounds a body a picker sends back; maxPickerHeaders the
// headers one answer sets.
const (
	maxPickerBody    = 64 << 20
	maxPickerHeaders = 256
)

// extPicker is a pool's external endpoint picker: one set of connections
// (from Conns, shared by the pools that name the same picker), one stream
// per request.
type extPicker struct {
	pool    *Pool
	conn    *sharedConn
	conns   *Conns
	timeout time.Duration
}

// Conns is the connections to endpoint pickers, by address and TLS
// settings, shared by the pools and kept across reloads while used.
type Conns struct {
	mu sync.Mutex
	m  map[string]*sharedConn
}

type sharedConn struct {
	key  string
	refs int
	wire *wirePool
}

// NewConns returns an empty connection set.
func NewConns() *Conns { return &Conns{m: map[string]*sharedConn{}} }

func (c *Conns) get(e *config.EndpointPicker, conf *tls.Config) *sharedConn {
	key := e.Address
	if t := e.TLS; t.On() {
		key += fmt.Sprintf("|tls|%v|%s|%s", t.InsecureSkipVerify, t.CAFile, t.ServerName)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc := c.m[key]; sc != nil {
		sc.refs++
		return sc
	}
	sc := &sharedConn{key: key, refs: 1, wire: newWirePool(e.Address, conf)}
	c.m[key] = sc
	return sc
}

func (c *Conns) put(sc *sharedConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc.refs--; sc.refs > 0 {
		return
	}
	delete(c.m, sc.key)
	sc.wire.close()
}

func newExtPicker(p *Pool, e *config.EndpointPicker, conf *tls.Config, conns *Conns) (*extPicker, error) {
	if conns == nil {
		conns = NewConns()
	}
	if e.TLS.On() && conf == nil {
		return nil, errors.New("inference: the endpoint picker's TLS settings were not built")
	}
	return &extPicker{pool: p, conn: conns.get(e, conf), conns: conns, timeout: e.Timeout.D()}, nil
}

func (x *extPicker) close() { x.conns.put(x.conn) }

// session is one request's open picker stream.
type session struct {
	stream *wireStream
	// unlink detaches the stream from the request's context.
	unlink  func() bool
	timeout time.Duration
}

// pick runs the request half of the protocol: request headers and body to
// the picker, then its headers response (the endpoints) and its body (the
// body to forward), all within the picker's timeout. A stream the picker
// never saw (a connection lost or refused before any answer) is tried once
// more on another connection.
//
// The request's end interrupts the stream (through ctx's AfterFunc, which
// the gateway's request context registers without a goroutine); close, on
// the request's goroutine, unlinks them.
func (x *extPicker) pick(ctx context.Context, r *Request) (*Decision, error) {
	deadline := time.Now().Add(x.timeout)
	for retried := false; ; retried = true {
		s, err := x.conn.wire.stream(ctx, time.Until(deadline))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &Error{Status: 500, Reason: "connect", Err: err}
		}
		unlink := afterFunc(ctx, s.cancel)
		s.arm(time.Until(deadline))
		d, err := x.exchange(s, r)
		s.disarm()
		if err == nil && d.session != nil {
			d.session.stream, d.session.unlink, d.session.timeout = s, unlink, x.timeout
			return d, nil
		}
		unlink()
		expired := s.expired.Load()
		s.finish()
		switch {
		case err == nil:
			return d, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case expired:
			return nil, &Error{Status: 500, Reason: "timeout", Err: fmt.Errorf("no decision within %s", x.timeout)}
		case errors.Is(err, errRefused) && !retried && time.Now().Before(deadline):
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			pe = &Error{Status: 500, Reason: "stream", Err: err}
		}
		return nil, pe
	}
}

// afterFunc is context.AfterFunc, through ctx's own AfterFunc method when it
// has one: the gateway's request context then registers f without making
// its Done channel, a goroutine to wait on it, or a context the next request
// may not reuse.
func afterFunc(ctx context.Context, f func()) (stop func() bool) {
	if a, ok := ctx.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(ctx, f)
}

// answer reads the picker's next message into a.
func answer(s *wireStream, a *pickerAnswer) error {
	b, err := s.recv()
	if err != nil {
		return err
	}
	*a = pickerAnswer{set: a.set[:0]}
	if err := decodeAnswer(b, a); err != nil {
		return garbage("a message that is not a ProcessingResponse")
	}
	return nil
}

func (x *extPicker) exchange(s *wireStream, r *Request) (*Decision, error) {
	d := &Decision{pool: x.pool, Body: r.Body, inflight: -1}
	if err := x.send(s, r); err != nil {
		// A picker may answer at once (an immediate response) and end the
		// stream before it read the whole body.
		var a pickerAnswer
		if answer(s, &a) != nil || a.kind != respImmediate {
			return nil, err
		}
		d.Immediate = immediate(&a)
		return d, nil
	}
	var body []byte
	var a pickerAnswer
	gotHeaders, wantBody := false, len(r.Body) > 0
	for {
		if err := answer(s, &a); err != nil {
			return nil, err
		}
		switch a.kind {
		case respImmediate:
			d.Immediate = immediate(&a)
			return d, nil
		case respRequestHeaders:
			if gotHeaders {
				return nil, garbage("a second request headers response")
			}
			gotHeaders = true
			if err := x.readHeaders(d, &a, r.Subset); err != nil {
				return nil, err
			}
			if !wantBody {
				d.session = &session{}
				return d, nil
			}
		case respRequestBody:
			if !gotHeaders {
				return nil, garbage("a body response before the headers response")
			}
			switch a.mutation {
			case mutationStreamed:
				if len(body)+len(a.body) > maxPickerBody {
					return nil, garbage("a body larger than the gateway accepts")
				}
				body = append(body, a.body...)
				if !a.end {
					continue
				}
				d.Body = body
			case mutationBody:
				d.Body = a.body
			case mutationClear:
				d.Body = nil
			default:
				// No mutation: the original body goes on.
			}
			d.session = &session{}
			return d, nil
		default:
			return nil, garbage(fmt.Sprintf("an unexpected answer (ProcessingResponse field %d)", a.kind))
		}
	}
}

func garbage(what string) *Error {
	return &Error{Status: 500, Reason: "garbage", Err: errors.New("the picker answered " + what)}
}

// send writes the request headers and body to the picker: one message for
// the headers, one per chunk of the body, flushed together.
func (x *extPicker) send(s *wireStream, r *Request) error {
	m := requestMsgs.Get().(*requestMsg)
	defer m.release()
	req, err := m.headersOf(r)
	if err != nil {
		return err
	}
	if m.wire, err = appendMessage(m.wire[:0], req); err != nil {
		return err
	}
	if err := s.write(m.wire, false, len(r.Body) == 0); err != nil {
		return err
	}
	for off := 0; off < len(r.Body); off += bodyChunk {
		end := min(off+bodyChunk, len(r.Body))
		m.body.Body, m.body.EndOfStream = r.Body[off:end], end == len(r.Body)
		if m.wire, err = appendMessage(m.wire[:0], &m.bodyReq); err != nil {
			return err
		}
		if err := s.write(m.wire, false, end == len(r.Body)); err != nil {
			return err
		}
	}
	return nil
}

// requestMsg is a request's messages to the picker (its headers, then its
// body in chunks), their parts linked once and reused from request to
// request, and the buffer they are encoded into (written before the next
// is encoded). Header names and values are views of one buffer, raw.
type requestMsg struct {
	wire      []byte
	hdrReq    extprocv3.ProcessingRequest
	hdrOneof  extprocv3.ProcessingRequest_RequestHeaders
	headers   extprocv3.HttpHeaders
	hmap      corev3.HeaderMap
	vals      []corev3.HeaderValue
	hs        []*corev3.HeaderValue
	raw       []byte
	bodyReq   extprocv3.ProcessingRequest
	bodyOneof extprocv3.ProcessingRequest_RequestBody
	body      extprocv3.HttpBody
}

// maxPooledHeaders bounds the header bytes a pooled requestMsg keeps.
const maxPooledHeaders = 16 << 10

var requestMsgs = sync.Pool{New: func() any {
	m := &requestMsg{}
	m.hdrReq.Request = &m.hdrOneof
	m.hdrOneof.RequestHeaders = &m.headers
	m.headers.Headers = &m.hmap
	m.bodyReq.Request = &m.bodyOneof
	m.bodyOneof.RequestBody = &m.body
	return m
}}

// headersOf fills the request headers message of r.
func (m *requestMsg) headersOf(r *Request) (*extprocv3.ProcessingRequest, error) {
	n := len(r.Method) + len(r.Path) + 20
	for _, h := range r.Headers {
		n += len(h.Name) + len(h.Value)
	}
	// Sized up front: hs points into vals, names and values into raw.
	if need := len(r.Headers) + 4; cap(m.vals) < need {
		m.vals, m.hs = make([]corev3.HeaderValue, 0, need), make([]*corev3.HeaderValue, 0, need)
	}
	if cap(m.raw) < n {
		m.raw = make([]byte, 0, n)
	}
	vals, hs, raw := m.vals[:0], m.hs[:0], m.raw[:0]
	// add appends one header; name is lower case when lower.
	add := func(name, value string, lower bool) {
		if !lower && name != "" {
			start := len(raw)
			raw = appendLower(raw, name)
			name = unsafe.String(&raw[start], len(raw)-start)
		}
		start := len(raw)
		raw = append(raw, value...)
		vals = append(vals, corev3.HeaderValue{Key: name, RawValue: raw[start:len(raw):len(raw)]})
		hs = append(hs, &vals[len(vals)-1])
	}
	add(":method", r.Method, true)
	add(":path", r.Path, true)
	add(":scheme", "http", true)
	if len(r.Body) > 0 {
		start := len(raw)
		raw = strconv.AppendInt(raw, int64(len(r.Body)), 10)
		vals = append(vals, corev3.HeaderValue{Key: "content-length", RawValue: raw[start:len(raw):len(raw)]})
		hs = append(hs, &vals[len(vals)-1])
	}
	for _, h := range r.Headers {
		add(h.Name, h.Value, isLower(h.Name))
	}
	m.vals, m.hs, m.raw = vals, hs, raw
	m.hmap.Headers, m.headers.EndOfStream = hs, len(r.Body) == 0
	m.hdrReq.MetadataContext = nil
	if len(r.Subset) > 0 {
		list := make([]any, len(r.Subset))
		for i, s := range r.Subset {
			list[i] = s
		}
		st, err := structpb.NewStruct(map[string]any{MetadataSubsetKey: list})
		if err != nil {
			return nil, fmt.Errorf("subset hint: %w", err)
		}
		m.hdrReq.MetadataContext = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{MetadataSubset: st}}
	}
	return &m.hdrReq, nil
}

// release returns m to its pool, dropping what the request referenced.
func (m *requestMsg) release() {
	clear(m.vals[:cap(m.vals)])
	m.hmap.Headers, m.body.Body, m.hdrReq.MetadataContext = nil, nil, nil
	if cap(m.raw) > maxPooledHeaders || cap(m.wire) > maxPooledHeaders+2*bodyChunk {
		return
	}
	requestMsgs.Put(m)
}

// isLower reports whether s has no upper-case ASCII letter.
func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return false
		}
	}
	return true
}

// appendLower appends s in ASCII lower case.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// readHeaders takes the endpoints (the header, else the metadata) and the
// headers the picker set from its request headers response.
func (x *extPicker) readHeaders(d *Decision, a *pickerAnswer, subset []string) error {
	var list string
	for _, h := range a.set {
		name, val := strings.ToLower(h.Name), h.Value
		switch {
		case name == HeaderDestination:
			list = val
		case strings.HasPrefix(name, ":"), name == "content-length", name == "host", strings.HasPrefix(name, HeaderDestination):
			// pseudo-headers and framing are the gateway's
		default:
			d.Headers = append(d.Headers, Header{Name: name, Value: val})
		}
	}
	if list == "" {
		list = a.lbDest
	}
	var eps []string
	for e := range strings.SplitSeq(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return garbage("no destination endpoint")
	}
	d.Endpoints = x.pool.members(eps, subset)
	if len(d.Endpoints) == 0 {
		return garbage("endpoints outside the pool (" + list + ")")
	}
	return nil
}

// immediate converts a picker's immediate response.
func immediate(a *pickerAnswer) *Immediate {
	im := &Immediate{Status: a.status, Body: a.body}
	if im.Status < 200 || im.Status > 599 {
		im.Status = 500
	}
	for _, h := range a.set {
		if name := strings.ToLower(h.Name); !strings.HasPrefix(name, ":") && name != "content-length" {
			im.Headers = append(im.Headers, Header{Name: name, Value: h.Value})
		}
	}
	return im
}

// served tells the picker which endpoint served, with the response
// headers, and ends our side of the stream; it waits (at most the picker's
// timeout) for the picker's headers answer and returns the headers it sets.
// Response bodies are not sent to the picker (see docs/inference-pool.md).
func (s *session) served(_ context.Context, endpoint string, status int, contentType string) []Header {
	m := servedMsgs.Get().(*servedMsg)
	s.stream.arm(s.timeout)
	defer s.stream.disarm()
	var err error
	m.wire, err = appendMessage(m.wire[:0], m.fill(endpoint, status, contentType))
	if err == nil {
		err = s.stream.write(m.wire, true, true)
	}
	servedMsgs.Put(m)
	if err != nil {
		return nil
	}
	var a pickerAnswer
	if err = answer(s.stream, &a); err != nil {
		return nil
	}
	s.stream.gotLastAnswer()
	if a.kind != respResponseHeaders {
		return nil
	}
	out := a.set[:0]
	for _, h := range a.set {
		name := strings.ToLower(h.Name)
		if strings.HasPrefix(name, ":") || name == "content-length" || name == "transfer-encoding" {
			continue
		}
		out = append(out, Header{Name: name, Value: h.Value})
	}
	return out
}

// servedMsg is a served report's message, its parts linked once and reused:
// Send encodes a message before it returns, so the next report may refill it.
type servedMsg struct {
	wire    []byte
	req     extprocv3.ProcessingRequest
	oneof   extprocv3.ProcessingRequest_ResponseHeaders
	headers extprocv3.HttpHeaders
	hmap    corev3.HeaderMap
	status  corev3.HeaderValue
	ctype   corev3.HeaderValue
	list    [2]*corev3.HeaderValue
	md      corev3.Metadata
	lb      structpb.Struct
	value   structpb.Value
	str     structpb.Value_StringValue
	digits  [3]byte
	// ctypeBuf holds the content type's bytes.
	ctypeBuf []byte
}

var servedMsgs = sync.Pool{New: func() any {
	m := &servedMsg{}
	m.req.Request = &m.oneof
	m.oneof.ResponseHeaders = &m.headers
	m.headers.Headers, m.headers.EndOfStream = &m.hmap, true
	m.status.Key, m.ctype.Key = ":status", "content-type"
	m.list = [2]*corev3.HeaderValue{&m.status, &m.ctype}
	m.value.Kind = &m.str
	m.lb.Fields = map[string]*structpb.Value{MetadataServed: &m.value}
	m.md.FilterMetadata = map[string]*structpb.Struct{MetadataLB: &m.lb}
	m.req.MetadataContext = &m.md
	return m
}}

// fill sets the report's endpoint, status and content type.
func (m *servedMsg) fill(endpoint string, status int, contentType string) *extprocv3.ProcessingRequest {
	m.str.StringValue = endpoint
	m.status.RawValue = strconv.AppendInt(m.digits[:0], int64(status), 10)
	m.hmap.Headers = m.list[:1]
	if contentType != "" {
		m.ctypeBuf = append(m.ctypeBuf[:0], contentType...)
		m.ctype.RawValue = m.ctypeBuf
		m.hmap.Headers = m.list[:2]
	}
	return &m.req
}

// close ends the session's stream (a reset when the picker still expects
// something) and unlinks it from the request.
func (s *session) close() {
	if s.stream == nil {
		return
	}
	s.unlink()
	s.stream.finish()
	s.stream = nil
}
