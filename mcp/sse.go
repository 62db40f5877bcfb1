package mcp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// The older HTTP+SSE transport (MCP 2024-11-05): a client opens a stream
// with GET <endpoint>/sse, learns from its first event (endpoint) where to
// POST its messages (<endpoint>/messages?sessionId=…), and reads every
// answer from the stream. A stream lives in the process that opened it:
// with several replicas, the POSTs of a stream must reach that process
// (route on the sessionId query parameter); the streamable HTTP transport
// has no such need.

// Bounds of the SSE transport.
const (
	maxSSEStreams   = 10000
	sseQueue        = 64
	sseKeepAlive    = 25 * time.Second
	sseSuffix       = "/sse"
	messagesSuffix  = "/messages"
	sseStreamIDSize = 18
)

// sseStream is one open HTTP+SSE stream: the answers waiting to be written
// and the sealed session its messages use once initialized.
type sseStream struct {
	out     chan []byte
	done    chan struct{}
	mu      sync.Mutex
	session string // the sealed session id, once initialize succeeded
	// attached takes the session once initialize succeeded: the stream
	// then also carries what its targets send outside any call.
	attached chan attachment
}

// attachment is a stream's session and the caller who initialized it.
type attachment struct {
	s *session
	c *Caller
}

// sseStreams are a backend's open streams by id.
type sseStreams struct {
	mu sync.Mutex
	m  map[string]*sseStream
}

// IsSSE reports whether rc is a request of the HTTP+SSE transport.
func IsSSE(rc *fasthttp.RequestCtx) bool {
	p := rc.Path()
	return rc.IsGet() && bytes.HasSuffix(p, []byte(sseSuffix)) ||
		rc.IsPost() && bytes.HasSuffix(p, []byte(messagesSuffix)) && len(rc.QueryArgs().Peek("sessionId")) > 0
}

// serveSSE answers the HTTP+SSE transport's requests.
func (b *Backend) serveSSE(ctx context.Context, rc *fasthttp.RequestCtx, c *Caller, out *Outcome) {
	if rc.IsGet() {
		b.openSSE(rc, out)
		return
	}
	id := string(rc.QueryArgs().Peek("sessionId"))
	b.sse.mu.Lock()
	st := b.sse.m[id]
	b.sse.mu.Unlock()
	if st == nil {
		fail(rc, out, http.StatusNotFound, errorf(codeSession, "no open SSE stream %q in this gateway process", id))
		return
	}
	body := bytes.TrimSpace(rc.PostBody())
	if len(body) > b.maxMessage {
		fail(rc, out, http.StatusRequestEntityTooLarge, errorf(codeInvalidRequest, "the message is larger than %d bytes", b.maxMessage))
		return
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		fail(rc, out, http.StatusBadRequest, errorf(codeParseError, "parse error: the body is not a JSON-RPC message"))
		return
	}
	out.Method = m.Method
	st.mu.Lock()
	sealed := st.session
	st.mu.Unlock()
	if sealed != "" {
		rc.Request.Header.Set("Mcp-Session-Id", sealed)
	}
	a, status := b.one(ctx, rc, c, &m, false, out)
	if m.Method == "initialize" {
		if sid := rc.Response.Header.Peek("Mcp-Session-Id"); len(sid) > 0 {
			st.mu.Lock()
			first := st.session == ""
			st.session = string(sid)
			st.mu.Unlock()
			rc.Response.Header.Del("Mcp-Session-Id")
			if s, err := b.seal.open(string(sid), time.Now()); err == nil && first {
				select {
				case st.attached <- attachment{s: s, c: c}:
				default:
				}
			}
		}
	}
	if a.body == nil {
		rc.SetStatusCode(http.StatusAccepted)
		return
	}
	if status >= 400 && !m.isRequest() {
		writeRPC(rc, status, a.body)
		return
	}
	select {
	case st.out <- a.body:
		rc.SetStatusCode(http.StatusAccepted)
	case <-st.done:
		fail(rc, out, http.StatusNotFound, errorf(codeSession, "the SSE stream closed"))
	default:
		fail(rc, out, http.StatusServiceUnavailable, errorf(codeInternal, "the SSE stream is not being read"))
	}
}

// openSSE opens a stream: the endpoint event, then answers as they come,
// with a comment every 25 s to keep proxies from closing an idle stream.
func (b *Backend) openSSE(rc *fasthttp.RequestCtx, out *Outcome) {
	out.Method = "sse"
	raw := make([]byte, sseStreamIDSize)
	_, _ = rand.Read(raw)
	id := base64.RawURLEncoding.EncodeToString(raw)
	st := &sseStream{out: make(chan []byte, sseQueue), done: make(chan struct{}), attached: make(chan attachment, 1)}
	b.sse.mu.Lock()
	if len(b.sse.m) >= maxSSEStreams {
		b.sse.mu.Unlock()
		fail(rc, out, http.StatusServiceUnavailable, errorf(codeInternal, "too many open SSE streams"))
		return
	}
	b.sse.m[id] = st
	b.sse.mu.Unlock()
	path := rc.Path()
	endpoint := string(path[:len(path)-len(sseSuffix)]) + messagesSuffix + "?sessionId=" + id
	rc.SetStatusCode(http.StatusOK)
	rc.SetContentType("text/event-stream")
	rc.Response.Header.Set("Cache-Control", "no-cache")
	conn := rc.Conn()
	rc.SetBodyStreamWriter(func(bw *bufio.Writer) {
		w := &eventWriter{w: bw, conn: conn}
		defer w.done()
		defer func() {
			close(st.done)
			b.sse.mu.Lock()
			delete(b.sse.m, id)
			b.sse.mu.Unlock()
		}()
		if !w.write([]byte("event: endpoint\ndata: " + endpoint + "\n\n")) {
			return
		}
		tick := time.NewTicker(sseKeepAlive)
		defer tick.Stop()
		ttl := time.NewTimer(b.seal.ttl)
		defer ttl.Stop()
		// Once initialized, what the targets send outside any call (nil
		// channels until then).
		var l *listener
		var lout chan []byte
		var lwake chan struct{}
		for {
			var ev []byte
			select {
			case msg := <-st.out:
				ev = appendEvent(nil, msg)
			case a := <-st.attached:
				var stop func()
				l, stop = b.attach(a.s, a.c)
				defer stop()
				lout, lwake = l.out, l.wake
				continue
			case msg := <-lout:
				ev = appendEvent(nil, msg)
			case <-lwake:
				ev = l.appendChanged(nil)
			case <-b.done:
				return
			case <-tick.C:
				ev = []byte(": keep-alive\n\n")
			case <-ttl.C:
				return
			}
			if !w.write(ev) {
				return // the client left
			}
		}
	})
}
