package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Outcome is what one HTTP request to the virtual server did, for the
// access log and metrics.
type Outcome struct {
	// Method is the JSON-RPC method ("batch" for a batch).
	Method string
	// Target and Tool name the call's target and the tool (or prompt) as
	// the target knows it; empty when no target was called.
	Target, Tool string
	// Code is the JSON-RPC error code answered, 0 for a result.
	Code int
}

// Result names the outcome for metrics: ok, error (the target's or the
// gateway's JSON-RPC error) or denied.
func (o *Outcome) Result() string {
	switch o.Code {
	case 0:
		return "ok"
	case codeForbidden:
		return "denied"
	}
	return "error"
}

// answer is the gateway's answer to one message: a JSON-RPC response, or
// a target's HTTP response to relay; none for a notification.
type answer struct {
	body  []byte
	relay *reply
}

// Serve answers one HTTP request to the virtual server at its endpoint. c
// is the caller as the route's client auth found it.
func (b *Backend) Serve(ctx context.Context, rc *fasthttp.RequestCtx, c *Caller, out *Outcome) {
	switch {
	case IsSSE(rc):
		b.serveSSE(ctx, rc, c, out)
	case rc.IsPost():
		b.post(ctx, rc, c, out)
	case rc.IsGet() && b.ServeMetadata(rc):
	case rc.IsGet():
		b.serveListen(rc, c, out)
	case rc.IsDelete():
		b.delete(ctx, rc, c, out)
	default:
		rc.Response.Header.Set("Allow", "GET, POST, DELETE")
		writeRPC(rc, http.StatusMethodNotAllowed, encodeResponse(nil, nil,
			errorf(codeInvalidRequest, "this MCP endpoint takes POST (JSON-RPC messages), GET (the session's SSE stream) and DELETE (end a session)")))
	}
}

// writeRPC writes a JSON body with status.
func writeRPC(rc *fasthttp.RequestCtx, status int, body []byte) {
	rc.SetStatusCode(status)
	rc.SetContentType("application/json")
	rc.SetBody(body)
}

// fail writes a JSON-RPC error answer (id null) with status.
func fail(rc *fasthttp.RequestCtx, out *Outcome, status int, e *rpcError) {
	out.Code = e.Code
	writeRPC(rc, status, encodeResponse(nil, nil, e))
}

// post handles a POSTed message or batch.
func (b *Backend) post(ctx context.Context, rc *fasthttp.RequestCtx, c *Caller, out *Outcome) {
	body := rc.PostBody()
	if len(body) > b.maxMessage {
		fail(rc, out, http.StatusRequestEntityTooLarge, errorf(codeInvalidRequest, "the message is larger than %d bytes", b.maxMessage))
		return
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		fail(rc, out, http.StatusBadRequest, errorf(codeParseError, "parse error: empty body"))
		return
	}
	if body[0] == '[' {
		out.Method = "batch"
		b.batch(ctx, rc, c, body, out)
		return
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		fail(rc, out, http.StatusBadRequest, errorf(codeParseError, "parse error: the body is not a JSON-RPC message"))
		return
	}
	out.Method = m.Method
	m.raw = body
	a, status := b.one(ctx, rc, c, &m, true, out)
	switch {
	case a.relay != nil:
		relay(rc, a.relay)
	case a.body == nil && status >= 400: // a notification in a session that is not (400, 404)
		rc.SetStatusCode(status)
	case a.body == nil:
		rc.SetStatusCode(http.StatusAccepted)
	default:
		writeRPC(rc, status, a.body)
	}
}

// batch answers a JSON-RPC batch, within the configured size.
func (b *Backend) batch(ctx context.Context, rc *fasthttp.RequestCtx, c *Caller, body []byte, out *Outcome) {
	if b.maxBatch <= 0 {
		fail(rc, out, http.StatusBadRequest, errorf(codeInvalidRequest, "JSON-RPC batches are not accepted"))
		return
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		fail(rc, out, http.StatusBadRequest, errorf(codeParseError, "parse error: the body is not a JSON-RPC batch"))
		return
	}
	switch {
	case len(raws) == 0:
		fail(rc, out, http.StatusBadRequest, errorf(codeInvalidRequest, "empty batch"))
		return
	case len(raws) > b.maxBatch:
		fail(rc, out, http.StatusBadRequest, errorf(codeInvalidRequest, "a batch of %d messages exceeds the limit of %d", len(raws), b.maxBatch))
		return
	}
	var answers [][]byte
	for _, raw := range raws {
		var m message
		if err := json.Unmarshal(raw, &m); err != nil {
			answers = append(answers, encodeResponse(nil, nil, errorf(codeInvalidRequest, "invalid request")))
			continue
		}
		if m.Method == "initialize" {
			answers = append(answers, encodeResponse(m.ID, nil, errorf(codeInvalidRequest, "initialize may not be batched")))
			continue
		}
		var o Outcome
		if a, _ := b.one(ctx, rc, c, &m, false, &o); a.body != nil {
			answers = append(answers, a.body)
		}
		if o.Code != 0 {
			out.Code = o.Code
		}
	}
	if len(answers) == 0 {
		rc.SetStatusCode(http.StatusAccepted)
		return
	}
	writeRPC(rc, http.StatusOK, append(append([]byte{'['}, bytes.Join(answers, []byte{','})...), ']'))
}

// one answers one message; relay allows the answer to be a target's HTTP
// response, relayed as it is.
func (b *Backend) one(ctx context.Context, rc *fasthttp.RequestCtx, c *Caller, m *message, relay bool, out *Outcome) (answer, int) {
	if m.JSONRPC != "2.0" {
		return b.errAnswer(m, out, http.StatusBadRequest, errorf(codeInvalidRequest, `invalid request: "jsonrpc" must be "2.0"`)), http.StatusBadRequest
	}
	if m.Method == "" { // an answer to a target's request: back to that target
		b.answerTarget(ctx, rc, c, m)
		return answer{}, http.StatusAccepted
	}
	if m.Method == "initialize" {
		if !m.isRequest() {
			return b.errAnswer(m, out, http.StatusBadRequest, errorf(codeInvalidRequest, "initialize needs an id")), http.StatusBadRequest
		}
		return b.initialize(ctx, rc, c, m, out), http.StatusOK
	}
	s, err := b.session(rc)
	if err != nil {
		status := http.StatusNotFound
		if errors.Is(err, errNoSession) {
			status = http.StatusBadRequest
		}
		if !m.isRequest() {
			return answer{}, status
		}
		return b.errAnswer(m, out, status, errorf(codeSession, "%v", err)), status
	}
	if !m.isRequest() {
		b.notification(ctx, s, c, m)
		return answer{}, http.StatusAccepted
	}
	switch m.Method {
	case "ping":
		return answer{body: encodeResponse(m.ID, nil, nil)}, http.StatusOK
	case "logging/setLevel":
		b.setLevel(ctx, s, c, m)
		return answer{body: encodeResponse(m.ID, nil, nil)}, http.StatusOK
	case "tools/list":
		return b.list(ctx, s, c, m, kindTools, out)
	case "prompts/list":
		return b.list(ctx, s, c, m, kindPrompts, out)
	case "resources/list":
		return b.list(ctx, s, c, m, kindResources, out)
	case "resources/templates/list":
		return answer{body: encodeResponse(m.ID, json.RawMessage(`{"resourceTemplates":[]}`), nil)}, http.StatusOK
	case "tools/call":
		return b.call(ctx, s, c, m, kindTools, relay, out)
	case "prompts/get":
		return b.call(ctx, s, c, m, kindPrompts, relay, out)
	case "resources/read":
		return b.call(ctx, s, c, m, kindResources, relay, out)
	}
	return b.errAnswer(m, out, http.StatusOK, errorf(codeMethodNotFound, "method not found: %q", m.Method)), http.StatusOK
}

// errAnswer is an error answer to m.
func (b *Backend) errAnswer(m *message, out *Outcome, _ int, e *rpcError) answer {
	out.Code = e.Code
	return answer{body: encodeResponse(m.ID, nil, e)}
}

// errNoSession is a request without a session id.
var errNoSession = errors.New("the Mcp-Session-Id header is required: send initialize first")

// session opens the request's session id.
func (b *Backend) session(rc *fasthttp.RequestCtx) (*session, error) {
	id := rc.Request.Header.Peek("Mcp-Session-Id")
	if len(id) == 0 {
		return nil, errNoSession
	}
	return b.seal.open(string(id), time.Now())
}

// requireSession opens the request's session, or answers the error (400
// without a session id, 404 for one the gateway cannot open) and returns nil.
func (b *Backend) requireSession(rc *fasthttp.RequestCtx, out *Outcome) *session {
	s, err := b.session(rc)
	if err != nil {
		status := http.StatusNotFound
		if errors.Is(err, errNoSession) {
			status = http.StatusBadRequest
		}
		fail(rc, out, status, errorf(codeSession, "%v", err))
		return nil
	}
	return s
}

// initialize opens a session on every target and seals their session ids
// into the gateway's.
func (b *Backend) initialize(ctx context.Context, rc *fasthttp.RequestCtx, c *Caller, m *message, out *Outcome) answer {
	var p struct {
		ProtocolVersion string          `json:"protocolVersion"`
		Capabilities    json.RawMessage `json:"capabilities"`
	}
	if len(m.Params) > 0 {
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return b.errAnswer(m, out, http.StatusOK, errorf(codeInvalidParams, "invalid initialize params"))
		}
	}
	version := protocolVersion
	if slices.Contains(supportedVersions, p.ProtocolVersion) {
		version = p.ProtocolVersion
	}
	s := &session{V: 1, IssuedAt: time.Now().Unix(), Protocol: version, Targets: map[string][2]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, mb := range b.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &call{caller: c, capabilities: p.Capabilities}
			sid, v, err := mb.t.open(ctx, cl)
			if err != nil {
				b.log.Warn("mcp: target failed to initialize; the session goes on without it",
					"backend", b.name, "target", mb.name, "err", err.Error())
				return
			}
			mu.Lock()
			s.Targets[mb.name] = [2]string{sid, v}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(s.Targets) == 0 && len(b.members) > 0 {
		return b.errAnswer(m, out, http.StatusOK, errorf(codeTargetError, "no target of this server could be initialized"))
	}
	id, err := b.seal.seal(s)
	if err != nil {
		return b.errAnswer(m, out, http.StatusOK, errorf(codeInternal, "cannot open a session"))
	}
	rc.Response.Header.Set("Mcp-Session-Id", id)
	res, _ := json.Marshal(map[string]any{
		"protocolVersion": version,
		"capabilities": map[string]any{
			"tools":     map[string]any{"listChanged": true},
			"prompts":   map[string]any{"listChanged": true},
			"resources": map[string]any{"listChanged": true},
			"logging":   map[string]any{},
		},
		"serverInfo": map[string]any{"name": "switchyard", "version": "1"},
	})
	return answer{body: encodeResponse(m.ID, res, nil)}
}

// errGone is the answer when a target no longer knows the session (it
// restarted, or the session was deleted): 404, so that the client
// initializes again, which opens a session on every target anew.
func (b *Backend) errGone(m *message, out *Outcome, target string) (answer, int) {
	who := "a target"
	if target != "" {
		who = "target " + strconv.Quote(target)
	}
	return b.errAnswer(m, out, http.StatusNotFound, errorf(codeSession,
		"%s no longer knows this session: initialize again", who)), http.StatusNotFound
}

// list merges the targets' lists of kind.
func (b *Backend) list(ctx context.Context, s *session, c *Caller, m *message, kind string, out *Outcome) (answer, int) {
	ls, gone := b.listAll(ctx, s, c, kind)
	if gone {
		return b.errGone(m, out, "")
	}
	items := b.merged(ls, kind, c)
	res, err := json.Marshal(map[string]any{kind: items})
	if err != nil {
		return answer{body: encodeResponse(m.ID, nil, errorf(codeInternal, "cannot encode the list"))}, http.StatusOK
	}
	return answer{body: encodeResponse(m.ID, res, nil)}, http.StatusOK
}

// call routes a tools/call, prompts/get or resources/read to its target.
func (b *Backend) call(ctx context.Context, s *session, c *Caller, m *message, kind string, relay bool, out *Outcome) (answer, int) {
	var params map[string]json.RawMessage
	if err := json.Unmarshal(m.Params, &params); err != nil || params == nil {
		return b.errAnswer(m, out, http.StatusOK, errorf(codeInvalidParams, "invalid params: an object is required")), http.StatusOK
	}
	field := "name"
	if kind == kindResources {
		field = "uri"
	}
	var exposed string
	if err := json.Unmarshal(params[field], &exposed); err != nil || exposed == "" {
		return b.errAnswer(m, out, http.StatusOK, errorf(codeInvalidParams, "invalid params: %q is required", field)), http.StatusOK
	}
	if kind == kindTools && !b.access.allowed(exposed, c) {
		out.Tool = exposed
		return b.errAnswer(m, out, http.StatusOK, errorf(codeForbidden, "tool %q is not allowed for this caller", exposed)), http.StatusOK
	}
	mb, name := b.resolve(s, kind, exposed)
	if mb == nil { // not listed yet by this process: list, then try again
		if _, gone := b.listAll(ctx, s, c, kind); gone {
			return b.errGone(m, out, "")
		}
		mb, name = b.resolve(s, kind, exposed)
	}
	if mb == nil {
		return b.errAnswer(m, out, http.StatusOK, errorf(codeInvalidParams, "unknown %s %q", kind[:len(kind)-1], exposed)), http.StatusOK
	}
	if kind == kindTools && !b.access.permitted(c, mb.name, name, exposed) {
		out.Tool = exposed
		return b.errAnswer(m, out, http.StatusOK, errorf(codeForbidden, "tool %q is not allowed for this caller", exposed)), http.StatusOK
	}
	out.Target, out.Tool = mb.name, name
	if name != exposed {
		params[field], _ = json.Marshal(name)
		raw, err := json.Marshal(params)
		if err != nil {
			return b.errAnswer(m, out, http.StatusOK, errorf(codeInvalidParams, "invalid params")), http.StatusOK
		}
		fwd := *m
		fwd.Params, fwd.raw = raw, nil
		m = &fwd
	}
	start := time.Now()
	r, err := mb.t.request(ctx, &call{caller: c, session: s.Targets[mb.name]}, m, relay)
	if err != nil {
		if errors.Is(err, errSessionGone) {
			b.observe(mb.name, name, "error", time.Since(start))
			return b.errGone(m, out, mb.name)
		}
		msg := "target " + strconv.Quote(mb.name) + " failed: " + err.Error()
		b.log.Warn("mcp: target call failed", "backend", b.name, "target", mb.name, "tool", name, "err", err.Error())
		b.observe(mb.name, name, "error", time.Since(start))
		return b.errAnswer(m, out, http.StatusOK, errorf(codeTargetError, "%s", msg)), http.StatusOK
	}
	if r.relay != nil {
		b.observe(mb.name, name, "ok", time.Since(start))
		r.target = mb.name
		return answer{relay: r}, http.StatusOK
	}
	if r.err != nil {
		out.Code = r.err.Code
		b.observe(mb.name, name, "error", time.Since(start))
		return answer{body: encodeResponse(m.ID, nil, r.err)}, http.StatusOK
	}
	b.observe(mb.name, name, "ok", time.Since(start))
	return answer{body: encodeResponse(m.ID, r.result, nil)}, http.StatusOK
}

// observe reports one call to the metrics hook.
func (b *Backend) observe(target, tool, result string, d time.Duration) {
	if b.onCall != nil {
		b.onCall(b.name, target, tool, result, d)
	}
}

// notification relays a client notification: a cancellation goes to every
// target of the session; the rest end here.
func (b *Backend) notification(ctx context.Context, s *session, c *Caller, m *message) {
	if m.Method != "notifications/cancelled" {
		return
	}
	for _, mb := range b.members {
		if ts, ok := s.Targets[mb.name]; ok {
			mb.t.notify(ctx, &call{caller: c, session: ts}, m)
		}
	}
}

// answerTarget sends the client's answer to a target's request (relayed
// with a wrapped id) back to the target, with the target's own id.
func (b *Backend) answerTarget(ctx context.Context, rc *fasthttp.RequestCtx, c *Caller, m *message) {
	target, id, ok := unwrapServerID(m.ID)
	if !ok {
		return
	}
	mb := b.byName[target]
	s, err := b.session(rc)
	if mb == nil || err != nil {
		return
	}
	ts, ok := s.Targets[target]
	if !ok {
		return
	}
	fwd := *m
	fwd.ID, fwd.raw = id, nil
	mb.t.notify(ctx, &call{caller: c, session: ts}, &fwd)
}

// delete ends a session on every target.
func (b *Backend) delete(ctx context.Context, rc *fasthttp.RequestCtx, c *Caller, out *Outcome) {
	out.Method = "DELETE"
	s := b.requireSession(rc, out)
	if s == nil {
		return
	}
	for _, mb := range b.members {
		if ts, ok := s.Targets[mb.name]; ok {
			mb.t.close(ctx, &call{caller: c, session: ts})
		}
	}
	rc.SetStatusCode(http.StatusOK)
}

// relay writes a target's HTTP answer as it is: JSON, or an SSE stream
// relayed event by event.
func relay(rc *fasthttp.RequestCtx, r *reply) {
	resp := r.relay
	rc.SetStatusCode(resp.StatusCode)
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		rc.SetContentType(ct)
	}
	size := int(resp.ContentLength)
	if size < 0 {
		size = -1
		rc.Response.ImmediateHeaderFlush = true
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		rc.Response.SetBodyStream(&sseRelay{src: bufio.NewReaderSize(resp.Body, 32<<10), body: resp.Body,
			target: r.target, cancel: r.cancel}, -1)
		return
	}
	rc.Response.SetBodyStream(&relayBody{body: resp.Body, cancel: r.cancel}, size)
}

// relayBody is a relayed answer's body; closing it releases its context.
type relayBody struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	once   sync.Once
}

// Read implements [io.Reader].
func (r *relayBody) Read(p []byte) (int, error) { return r.body.Read(p) }

// Close implements [io.Closer].
func (r *relayBody) Close() error {
	err := r.body.Close()
	r.once.Do(r.cancel)
	return err
}
