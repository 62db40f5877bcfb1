package a2a

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// WellKnownCard is where clients look for an agent's card; LegacyCard is
// the path of A2A 0.2, also answered.
const (
	WellKnownCard = "/.well-known/agent-card.json"
	LegacyCard    = "/.well-known/agent.json"
)

// maxCardBytes bounds an agent card.
const maxCardBytes = 1 << 20

// Agent is one a2a backend: the agent's endpoint, card location, signing
// and credentials. Safe for concurrent use.
type Agent struct {
	name    string
	agent   *url.URL
	cardURL string
	signing string
	signer  *signer
	auth    config.MCPTargetAuth
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger
}

// Caller is what the proxy needs of the client: its Authorization header,
// forwarded with auth.forward: passthrough.
type Caller struct {
	Authorization string
}

// New builds the agent name (namespace/name) from cfg.
func New(name string, cfg *config.A2ABackend, log *slog.Logger) (*Agent, error) {
	if log == nil {
		log = slog.Default()
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("a2a: agent url: %w", err)
	}
	a := &Agent{name: name, agent: u, signing: cfg.Signing, auth: cfg.Auth, timeout: cfg.Timeout.D(), log: log}
	if a.timeout <= 0 {
		a.timeout = 60 * time.Second
	}
	switch c := cfg.CardPath; {
	case c == "":
		a.cardURL = u.Scheme + "://" + u.Host + WellKnownCard
	case strings.HasPrefix(c, "/"):
		a.cardURL = u.Scheme + "://" + u.Host + c
	default:
		a.cardURL = c
	}
	if cfg.Signing == config.A2ASigningResign {
		if a.signer, err = loadSigner(cfg.KeyFile, []byte(cfg.KeyPEM), cfg.KeyID, cfg.JWKSURL); err != nil {
			return nil, err
		}
	}
	a.client = &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return a, nil
}

// Name is the backend's namespace/name.
func (a *Agent) Name() string { return a.name }

// IsCard reports whether path (under the route's prefix) asks for the card.
func IsCard(rest []byte) bool {
	return bytes.Equal(rest, []byte(WellKnownCard)) || bytes.Equal(rest, []byte(LegacyCard))
}

// Serve answers one request: prefix is the part of the path the route
// matched (the agent's path at the gateway).
func (a *Agent) Serve(ctx context.Context, rc *fasthttp.RequestCtx, prefix string, c *Caller) {
	rest := rc.Path()[len(prefix):]
	if rc.IsGet() && IsCard(rest) {
		a.ServeCard(ctx, rc, prefix)
		return
	}
	a.forward(ctx, rc, string(rest), origin(rc)+strings.TrimSuffix(prefix, "/"), c)
}

// ServeCard fetches the agent's card and serves it rewritten (or unchanged
// when it is signed and the gateway does not sign again).
func (a *Agent) ServeCard(ctx context.Context, rc *fasthttp.RequestCtx, prefix string) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.cardURL, nil)
	if err != nil {
		WriteError(rc, http.StatusBadGateway, "the agent's card URL is invalid")
		return
	}
	req.Header.Set("Accept", "application/json")
	authorize(req.Header, &a.auth, nil)
	resp, err := a.client.Do(req)
	if err != nil {
		a.log.Warn("a2a: agent card unreachable", "backend", a.name, "err", err.Error())
		WriteError(rc, http.StatusBadGateway, "the agent's card could not be fetched")
		return
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxCardBytes+1))
	if err != nil || resp.StatusCode != http.StatusOK || len(raw) > maxCardBytes {
		WriteError(rc, http.StatusBadGateway, fmt.Sprintf("the agent's card could not be fetched (HTTP %d)", resp.StatusCode))
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var card map[string]any
	if err := dec.Decode(&card); err != nil {
		WriteError(rc, http.StatusBadGateway, "the agent's card is not a JSON object")
		return
	}
	out, mode, err := a.prepare(raw, card, origin(rc)+strings.TrimSuffix(prefix, "/"))
	if err != nil {
		WriteError(rc, http.StatusBadGateway, err.Error())
		return
	}
	rc.Response.Header.Set("X-Switchyard-Card", mode)
	rc.SetStatusCode(http.StatusOK)
	rc.SetContentType("application/json")
	rc.SetBody(out)
}

// prepare returns the card (raw, decoded as card) as the gateway serves it
// from base (scheme://host/prefix) and what it did: "unchanged" (a signed
// card kept), "rewritten" or "resigned".
func (a *Agent) prepare(raw []byte, card map[string]any, base string) ([]byte, string, error) {
	if sigs, _ := card["signatures"].([]any); len(sigs) > 0 && a.signer == nil {
		return raw, "unchanged", nil
	}
	w := &rewriter{agent: a.agent, base: base}
	w.rewriteCard(card)
	mode := "rewritten"
	if a.signer != nil {
		sig, err := a.signer.sign(card)
		if err != nil {
			a.log.Error("a2a: sign card", "backend", a.name, "err", err.Error())
			return nil, "", errors.New("the agent's card could not be signed")
		}
		card["signatures"] = []any{sig}
		mode = "resigned"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(card); err != nil {
		return nil, "", errors.New("the agent's card could not be encoded")
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), mode, nil
}

// hopHeaders are not forwarded.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Te", "Trailer", "Upgrade",
	"Host", "Content-Length", "Authorization", "Proxy-Authorization"}

// forward sends the request to the agent and relays its answer, a stream
// event by event.
func (a *Agent) forward(ctx context.Context, rc *fasthttp.RequestCtx, rest, base string, c *Caller) {
	u := *a.agent
	u.Path = strings.TrimSuffix(a.agent.Path, "/") + rest
	if u.Path == "" {
		u.Path = "/"
	}
	u.RawPath = ""
	u.RawQuery = string(rc.URI().QueryString())
	// The answer's body outlives the request's pooled context: its context is
	// the gateway's own, cancelled with the client's until the headers arrive.
	fctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	timer := time.AfterFunc(a.timeout, cancel)
	var body io.Reader
	if b := rc.Request.Body(); len(b) > 0 {
		body = bytes.NewReader(append([]byte(nil), b...))
	}
	req, err := http.NewRequestWithContext(fctx, string(rc.Method()), u.String(), body)
	if err != nil {
		stop()
		cancel()
		WriteError(rc, http.StatusBadRequest, "the request cannot be forwarded")
		return
	}
	for k, v := range rc.Request.Header.All() {
		req.Header.Add(string(k), string(v))
	}
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	req.Header.Set("X-Forwarded-Host", string(rc.Host()))
	req.Header.Set("X-Forwarded-Proto", scheme(rc))
	authorize(req.Header, &a.auth, c)
	resp, err := a.client.Do(req)
	timedOut := !timer.Stop()
	stop()
	if err != nil {
		cancel()
		a.log.Warn("a2a: agent unreachable", "backend", a.name, "err", err.Error())
		status := http.StatusBadGateway
		if timedOut {
			status = http.StatusGatewayTimeout
		}
		WriteError(rc, status, "the agent could not be reached")
		return
	}
	if resp.StatusCode == http.StatusOK && rc.IsPost() && extendedCard(rc.Request.Body()) {
		defer cancel()
		defer resp.Body.Close()
		a.relayExtendedCard(rc, resp, base)
		return
	}
	rc.SetStatusCode(resp.StatusCode)
	for k, vs := range resp.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive":
			continue
		}
		for _, v := range vs {
			rc.Response.Header.Add(k, v)
		}
	}
	size := int(resp.ContentLength)
	if size < 0 {
		size = -1
		rc.Response.ImmediateHeaderFlush = true
	}
	rc.Response.SetBodyStream(&streamBody{body: resp.Body, cancel: cancel}, size)
}

// extendedCard reports whether body is a JSON-RPC call for the extended
// (authenticated) agent card, whose answer is a card to rewrite.
func extendedCard(body []byte) bool {
	if !bytes.Contains(body, []byte("ExtendedCard")) && !bytes.Contains(body, []byte("ExtendedAgentCard")) {
		return false
	}
	var m struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	return m.Method == "GetExtendedAgentCard" || m.Method == "agent/getAuthenticatedExtendedCard"
}

// relayExtendedCard relays the agent's answer to an extended card call with
// the card in its result treated as the public card is.
func (a *Agent) relayExtendedCard(rc *fasthttp.RequestCtx, resp *http.Response, base string) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxCardBytes+1))
	if err != nil || len(raw) > maxCardBytes {
		WriteError(rc, http.StatusBadGateway, "the agent's extended card could not be read")
		return
	}
	out := raw
	var msg map[string]json.RawMessage
	if json.Unmarshal(raw, &msg) == nil && len(msg["result"]) > 0 {
		dec := json.NewDecoder(bytes.NewReader(msg["result"]))
		dec.UseNumber()
		var card map[string]any
		if dec.Decode(&card) == nil {
			if c, mode, err := a.prepare(msg["result"], card, base); err == nil {
				msg["result"] = c
				if b, err := json.Marshal(msg); err == nil {
					out = b
					rc.Response.Header.Set("X-Switchyard-Card", mode)
				}
			}
		}
	}
	rc.SetStatusCode(http.StatusOK)
	rc.SetContentType("application/json")
	rc.SetBody(out)
}

// streamBody is a relayed answer's body; closing it releases its context.
type streamBody struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	once   sync.Once
}

// Read implements [io.Reader].
func (s *streamBody) Read(p []byte) (int, error) { return s.body.Read(p) }

// Close implements [io.Closer].
func (s *streamBody) Close() error {
	err := s.body.Close()
	s.once.Do(s.cancel)
	return err
}

// WriteError writes a JSON-RPC error (id null) with an HTTP status.
func WriteError(rc *fasthttp.RequestCtx, status int, msg string) {
	code := -32603
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		code = -32600
	case http.StatusUnauthorized, http.StatusForbidden:
		code = -32001
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil, "error": map[string]any{"code": code, "message": msg}})
	rc.SetStatusCode(status)
	rc.SetContentType("application/json")
	rc.SetBody(body)
}

// authorize sets the credentials the agent receives.
func authorize(h http.Header, a *config.MCPTargetAuth, c *Caller) {
	client := ""
	if c != nil {
		client = c.Authorization
	}
	a.Apply(h, client)
}

// origin is scheme://host as the client reached the gateway.
func origin(rc *fasthttp.RequestCtx) string { return scheme(rc) + "://" + string(rc.Host()) }

// scheme is the scheme the client used (a proxy in front says so in X-Forwarded-Proto).
func scheme(rc *fasthttp.RequestCtx) string {
	if rc.IsTLS() || string(rc.Request.Header.Peek("X-Forwarded-Proto")) == "https" {
		return "https"
	}
	return "http"
}
