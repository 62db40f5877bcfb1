// Package eppfake is an endpoint picker (an Envoy ext_proc gRPC server) that
// follows the Gateway API Inference Extension's protocol as the reference
// pickers speak it: it buffers the request body, then answers a headers
// response with x-gateway-destination-endpoint (and the same list in the
// envoy.lb dynamic metadata) and the body in streamed chunks of at most
// 62000 bytes; it honours the subset hint (503 when nothing is eligible);
// it records the served endpoint reported on the response path and answers
// it with x-conformance-test-served-endpoint, as the conformance suite's
// picker (lwepp) does. What it chooses is the test's (Choose), by default
// what the request header test-epp-endpoint-selection names, as the
// conformance picker chooses (ByTestHeader).
package eppfake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/structpb"
)

// Seen is one request as the picker received it.
type Seen struct {
	Headers map[string]string
	Body    []byte
	// Subset is the subset hint (nil: none).
	Subset []string
}

// Answer is the picker's decision for one request.
type Answer struct {
	// Endpoints is the ordered list (ip:port).
	Endpoints []string
	// Body, when set, replaces the request body.
	Body []byte
	// Immediate, when set, answers with this status instead of an endpoint.
	Immediate     int
	ImmediateBody string
	// Delay holds the answer back this long (a slow picker).
	Delay time.Duration
	// Garbage answers a response body message first (a broken picker).
	Garbage bool
	// MetadataOnly sends the list in the dynamic metadata only.
	MetadataOnly bool
}

// The conformance suite's names.
const (
	// HeaderTestSelection names the endpoints a request must go to (the
	// suite's test-epp-endpoint-selection): ip:port or a bare IP, comma-separated.
	HeaderTestSelection = "test-epp-endpoint-selection"
	// HeaderTestServed is the response header the picker sets to the served endpoint.
	HeaderTestServed = "x-conformance-test-served-endpoint"
)

// Picker is the fake endpoint picker.
type Picker struct {
	// Choose decides; it must be safe for concurrent use. Nil:
	// ByTestHeader(Pool).
	Choose func(Seen) Answer
	// Pool is the pool's endpoints (ip:port) when Choose is nil.
	Pool []string
	// NoRecord keeps no history of requests and served endpoints (load tests).
	NoRecord bool

	once   sync.Once
	mu     sync.Mutex
	seen   []Seen
	served []string
	addr   string
	srv    *grpc.Server
}

// Start serves p on a loopback port (TLS with cert when not nil) until the test ends.
func Start(t testing.TB, p *Picker, cert *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})))
	}
	p.srv = grpc.NewServer(opts...)
	extprocv3.RegisterExternalProcessorServer(p.srv, p)
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(p.srv.Stop)
	p.addr = ln.Addr().String()
	return p.addr
}

// Stop stops the picker (a picker that went down).
func (p *Picker) Stop() { p.srv.Stop() }

// Seen returns the requests received so far.
func (p *Picker) Seen() []Seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Seen(nil), p.seen...)
}

// Served returns the served endpoints reported so far.
func (p *Picker) Served() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.served...)
}

var _ extprocv3.ExternalProcessorServer = (*Picker)(nil)

// Process implements the ext_proc service: one stream per request.
func (p *Picker) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	var seen Seen
	var body []byte
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch v := req.Request.(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			seen.Headers = map[string]string{}
			for _, h := range v.RequestHeaders.GetHeaders().GetHeaders() {
				val := string(h.GetRawValue())
				if val == "" {
					val = h.GetValue()
				}
				seen.Headers[h.GetKey()] = val
			}
			if md := req.GetMetadataContext().GetFilterMetadata()["envoy.lb.subset_hint"]; md != nil {
				for _, e := range md.GetFields()["x-gateway-destination-endpoint-subset"].GetListValue().GetValues() {
					seen.Subset = append(seen.Subset, e.GetStringValue())
				}
			}
			if v.RequestHeaders.GetEndOfStream() {
				if err := p.decide(stream, seen); err != nil {
					return err
				}
			}
		case *extprocv3.ProcessingRequest_RequestBody:
			body = append(body, v.RequestBody.GetBody()...)
			if v.RequestBody.GetEndOfStream() {
				seen.Body = body
				if err := p.decide(stream, seen); err != nil {
					return err
				}
			}
		case *extprocv3.ProcessingRequest_ResponseHeaders:
			served := "fail: missing envoy lb metadata"
			if lb := req.GetMetadataContext().GetFilterMetadata()["envoy.lb"]; lb != nil {
				served = lb.GetFields()["x-gateway-destination-endpoint-served"].GetStringValue()
				if !p.NoRecord {
					p.mu.Lock()
					p.served = append(p.served, served)
					p.mu.Unlock()
				}
			}
			if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{
				ResponseHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
					HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{
						{Header: &corev3.HeaderValue{Key: "x-picker-served", RawValue: []byte("seen")}},
						{Header: &corev3.HeaderValue{Key: HeaderTestServed, RawValue: []byte(served)}}}}}}}}); err != nil {
				return err
			}
		case *extprocv3.ProcessingRequest_ResponseBody:
			if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
				ResponseBody: &extprocv3.BodyResponse{}}}); err != nil {
				return err
			}
		case *extprocv3.ProcessingRequest_ResponseTrailers:
			if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{
				ResponseTrailers: &extprocv3.TrailersResponse{}}}); err != nil {
				return err
			}
		}
	}
}

// decide answers a complete request.
func (p *Picker) decide(stream extprocv3.ExternalProcessor_ProcessServer, seen Seen) error {
	if !p.NoRecord {
		p.mu.Lock()
		p.seen = append(p.seen, seen)
		p.mu.Unlock()
	}
	p.once.Do(func() {
		if p.Choose == nil {
			p.Choose = ByTestHeader(p.Pool)
		}
	})
	a := p.Choose(seen)
	if a.Delay > 0 {
		select {
		case <-time.After(a.Delay):
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
	}
	if a.Garbage {
		return stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
			ResponseBody: &extprocv3.BodyResponse{}}})
	}
	eps := a.Endpoints
	if seen.Subset != nil {
		eps = nil
		for _, e := range a.Endpoints {
			for _, s := range seen.Subset {
				if e == s || strings.HasPrefix(e, s+":") {
					eps = append(eps, e)
					break
				}
			}
		}
		if len(eps) == 0 && a.Immediate == 0 {
			a.Immediate, a.ImmediateBody = 503, "no eligible endpoint in the subset"
		}
	}
	if a.Immediate != 0 {
		return stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
			ImmediateResponse: &extprocv3.ImmediateResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode(a.Immediate)},
				Body: []byte(a.ImmediateBody)}}})
	}
	body := seen.Body
	if a.Body != nil {
		body = a.Body
	}
	list := strings.Join(eps, ",")
	md, err := structpb.NewStruct(map[string]any{"envoy.lb": map[string]any{"x-gateway-destination-endpoint": list}})
	if err != nil {
		return err
	}
	set := []*corev3.HeaderValueOption{
		{Header: &corev3.HeaderValue{Key: "content-length", RawValue: []byte(strconv.Itoa(len(body)))}},
		{Header: &corev3.HeaderValue{Key: ":path", RawValue: []byte("/ignored")}},
		{Header: &corev3.HeaderValue{Key: "x-picked-by", RawValue: []byte("eppfake")}},
	}
	if !a.MetadataOnly {
		set = append(set, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: "x-gateway-destination-endpoint", RawValue: []byte(list)}})
	}
	if err := stream.Send(&extprocv3.ProcessingResponse{
		Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
			Response: &extprocv3.CommonResponse{ClearRouteCache: true, HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: set}}}},
		DynamicMetadata: md,
	}); err != nil {
		return err
	}
	if seen.Body == nil {
		return nil
	}
	for off := 0; ; off += 62000 {
		end := min(off+62000, len(body))
		if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
			RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{
				Mutation: &extprocv3.BodyMutation_StreamedResponse{StreamedResponse: &extprocv3.StreamedBodyResponse{
					Body: body[off:end], EndOfStream: end == len(body)}}}}}}}); err != nil {
			return err
		}
		if end == len(body) {
			return nil
		}
	}
}

// ByTestHeader chooses as the conformance suite's picker does: the
// endpoints of pool that the request header test-epp-endpoint-selection
// names (ip:port, or an IP for each of its ports; comma-separated), in the
// header's order, or 503 when it names none of the pool's; without the
// header, one endpoint of pool, round robin.
func ByTestHeader(pool []string) func(Seen) Answer {
	var mu sync.Mutex
	next := 0
	return func(s Seen) Answer {
		val := strings.TrimSpace(s.Headers[HeaderTestSelection])
		if val == "" {
			if len(pool) == 0 {
				return Answer{Immediate: 503, ImmediateBody: "no endpoints available"}
			}
			mu.Lock()
			defer mu.Unlock()
			next++
			return Answer{Endpoints: []string{pool[next%len(pool)]}}
		}
		var eps []string
		for want := range strings.SplitSeq(val, ",") {
			want = strings.TrimSpace(want)
			for _, e := range pool {
				if (e == want || strings.HasPrefix(e, want+":")) && !slices.Contains(eps, e) {
					eps = append(eps, e)
				}
			}
		}
		if len(eps) == 0 {
			return Answer{Immediate: 503, ImmediateBody: "no endpoint of the pool matches " + HeaderTestSelection + ": " + val}
		}
		return Answer{Endpoints: eps}
	}
}

// SelfSigned is a self-signed certificate for 127.0.0.1, as pickers ship them.
func SelfSigned(t testing.TB) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "epp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"epp"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
