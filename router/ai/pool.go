package ai

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/inference"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// HeaderServed names the pool endpoint that served a response (the
// protocol's served-endpoint key, as a response header).
const HeaderServed = inference.MetadataServed

// poolBaseURL stands in for a pool's address in its translator's URL: each
// attempt replaces the host with the endpoint the picker chose.
const poolBaseURL = "http://inference-pool"

// newPoolBackend builds an inferencePool backend: an OpenAI-compatible AI
// backend (same translator, client, policies and usage as any other) whose
// endpoint is chosen per request by the pool's picker. The pool (picker
// connection, built-in picker's scraping, endpoint health) is upstream state
// keyed by the pool's configuration, so a reload that keeps it keeps them.
func (fa *Factory) newPoolBackend(key string, ip *config.InferencePool, gen *upstream.Generation) (*backend, error) {
	cfg := &config.AIBackend{Provider: config.ProviderOpenAICompatible, BaseURL: poolBaseURL, Models: ip.Models,
		Aliases: ip.Aliases, Timeout: ip.Timeout, StreamIdleTimeout: ip.StreamIdleTimeout, MaxConnections: ip.MaxConnections}
	b, err := fa.newBackend(key, cfg, gen)
	if err != nil {
		return nil, err
	}
	spec, err := json.Marshal(ip)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append(spec, upstream.CADigest(pickerCA(ip))...))
	v, err := gen.Get("pool|"+key+"|"+hex.EncodeToString(sum[:]), func() (any, func(), error) {
		opts := inference.Options{Log: fa.log, Metrics: fa.opts.Inference, Conns: fa.conns}
		if e := ip.EndpointPicker; e != nil && e.TLS.On() {
			host, _, _ := net.SplitHostPort(e.Address)
			conf, err := upstream.ClientTLS(&config.BackendTLS{ServerName: e.TLS.ServerName,
				InsecureSkipVerify: e.TLS.InsecureSkipVerify, CAFile: e.TLS.CAFile}, host)
			if err != nil {
				return nil, nil, fmt.Errorf("endpoint picker TLS: %w", err)
			}
			opts.PickerTLS = conf
		}
		p, err := inference.New(key, ip, opts)
		if err != nil {
			return nil, nil, err
		}
		return p, p.Close, nil
	})
	if err != nil {
		return nil, err
	}
	b.pool = v.(*inference.Pool)
	if b.h2c, err = poolH2C(key, ip, gen); err != nil {
		return nil, err
	}
	return b, nil
}

// pickerCA is the picker's CA file as backend TLS settings, for the digest.
func pickerCA(ip *config.InferencePool) *config.BackendTLS {
	if e := ip.EndpointPicker; e != nil && e.TLS != nil {
		return &config.BackendTLS{CAFile: e.TLS.CAFile}
	}
	return nil
}

// poolCall is what one attempt sends to an inference pool: an OpenAI
// request through its translator (tr and up set), or an opaque pass-through
// (tr and up nil: the client's request as it is, see opaque.go).
type poolCall struct {
	// method and path (with the query) are what the picker is told.
	method, path string
	body         []byte
	tr           providers.Translator
	up           *schema.Upstream
}

// openAICall is the poolCall of a translated OpenAI request.
func openAICall(tr providers.Translator, up *schema.Upstream) poolCall {
	m := up.Method
	if m == "" {
		m = fasthttp.MethodPost
	}
	return poolCall{method: m, path: strings.TrimPrefix(up.URL, poolBaseURL), body: up.Body, tr: tr, up: up}
}

// sendPool performs an attempt on an inference pool (its rule restricted to
// the endpoints restrict, when set): the picker chooses
// (and may rewrite the body, or answer for the pool), then the endpoints
// are tried in the picker's order: the next after a connect failure, and
// after a retryable status when the rule retries. The picker is told which
// endpoint served.
func (s *exchange) sendPool(b *backend, restrict []string, pc poolCall, timeout time.Duration) result {
	r := &inference.Request{Method: pc.method, Path: pc.path, Body: pc.body, Subset: b.pool.Subset(restrict)}
	if b.pool.External() { // the built-in picker reads no header
		s.phdr = s.pickerHeaders(s.phdr[:0], pc.up == nil)
		r.Headers = s.phdr
	}
	start := time.Now()
	d, err := b.pool.Pick(s.ex.Context(), r)
	if err != nil {
		if s.ex.Context().Err() != nil {
			return result{err: errClientClosed()}
		}
		var pe *inference.Error
		status := fasthttp.StatusInternalServerError
		if errors.As(err, &pe) {
			status = pe.Status
		}
		return failure(schema.Errorf(status, schema.ErrServer, "the inference pool's endpoint picker failed; see the gateway's log"))
	}
	defer d.Close()
	if im := d.Immediate; im != nil {
		return s.immediate(im, pc.up == nil)
	}
	timeout -= time.Since(start)
	if timeout <= 0 {
		return failure(errRequestTimeout())
	}
	n := min(len(d.Endpoints), 1+s.h.retry.Attempts())
	var last result
	for k, ep := range d.Endpoints {
		resp, err := s.doEndpoint(b, pc, d, ep, timeout)
		if err != nil {
			last = failure(transportError(err))
			if errors.Is(err, fasthttp.ErrDialTimeout) || isConnRefused(err) {
				d.Failed(ep) // nothing was sent: the next endpoint may be tried
				if k+1 < len(d.Endpoints) {
					continue
				}
			}
			return last
		}
		status := resp.StatusCode()
		if k+1 < n && s.h.retry.On(status) {
			fasthttp.ReleaseResponse(resp)
			last = failure(schema.Errorf(status, schema.TypeForStatus(status), "the model server answered %d", status))
			continue
		}
		set := d.Served(s.ex.Context(), ep, status, string(resp.Header.ContentType()))
		s.x.Endpoint, s.ex.Access.Endpoint = ep, ep
		if pc.up == nil {
			return s.relayOpaque(b, ep, resp, set)
		}
		h := &s.ctx.Response.Header
		for _, ph := range set {
			h.Set(ph.Name, ph.Value)
		}
		h.Set(HeaderServed, ep)
		res := s.receive(b, pc.tr, pc.up, resp)
		if res.err != nil && !res.streamed {
			// The failure may fail over to another backend: its response
			// must not carry this pool's headers.
			for _, ph := range set {
				h.Del(ph.Name)
			}
			h.Del(HeaderServed)
		}
		return res
	}
	return last
}

// immediate is the result of a picker's answer for the pool (429 when it
// sheds, 503 when nothing is ready, ...): a failure that may fail over to
// the rule's next backend. An OpenAI request gets it as an OpenAI error; an
// opaque one, when no backend serves it, as the picker gave it (see fail).
func (s *exchange) immediate(im *inference.Immediate, opaque bool) result {
	msg := strings.TrimSpace(string(im.Body))
	if msg == "" {
		msg = "the inference pool's endpoint picker refused the request"
	}
	e := &schema.Error{Status: im.Status, Type: schema.TypeForStatus(im.Status), Message: msg}
	if im.Status == fasthttp.StatusTooManyRequests {
		e.RetryAfter = 1
	}
	if opaque {
		s.im = im
	}
	return failure(e)
}

// doEndpoint sends the attempt's request to one pool endpoint, with the
// picker's body and headers: over HTTP/1.1, or h2c (doH2C) when the pool's
// appProtocol asks for it.
func (s *exchange) doEndpoint(b *backend, pc poolCall, d *inference.Decision, ep string, timeout time.Duration) (*fasthttp.Response, error) {
	if b.h2c != nil {
		resp, err := s.doH2C(b, pc, d, ep, timeout)
		if err != nil {
			s.f.log.Warn("ai: inference pool endpoint failed", "rule", s.h.key, "backend", b.key, "endpoint", ep,
				"protocol", "h2c", "err", err.Error())
		}
		return resp, err
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	if pc.up == nil {
		s.fillOpaque(req, ep, d.Body)
		resp.StreamBody = true
	} else {
		uri := req.URI()
		uri.SetScheme("http")
		uri.SetHost(ep)
		uri.SetPath(pc.path)
		s.fillRequest(req, pc.up, d.Body)
		resp.StreamBody = pc.up.Stream
	}
	for _, h := range d.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	err := b.up.client.DoTimeout(req, resp, timeout)
	fasthttp.ReleaseRequest(req)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		s.f.log.Warn("ai: inference pool endpoint failed", "rule", s.h.key, "backend", b.key, "endpoint", ep, "err", err.Error())
		return nil, err
	}
	return resp, nil
}

// isConnRefused reports a connect error (nothing reached the endpoint).
func isConnRefused(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// poolSelector is an inference pool's endpoint picker as an
// [upstream.Selector] over the pool's endpoints: the indexes of the
// endpoints the picker chose for x's body, in its order. The AI front end
// asks the pool itself (sendPool), since a decision also carries the
// picker's body, headers and stream; other kinds of route can select with
// this.
type poolSelector struct{ p *inference.Pool }

var _ upstream.Selector = poolSelector{}

// Select implements [upstream.Selector].
func (ps poolSelector) Select(ctx context.Context, x *policies.Exchange, buf []int) []int {
	out := buf[:0]
	d, err := ps.p.Pick(ctx, &inference.Request{Method: fasthttp.MethodPost, Path: "/v1/chat/completions", Body: x.Body,
		Subset: ps.p.Subset(nil)})
	if err != nil || d.Immediate != nil {
		return out
	}
	defer d.Close()
	for _, e := range d.Endpoints {
		for i, a := range ps.p.Endpoints() {
			if a == e {
				out = append(out, i)
			}
		}
	}
	return out
}
