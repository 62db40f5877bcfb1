package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// The standalone stream of the streamable HTTP transport: a client's GET on
// the endpoint, with its session id, opens an SSE stream on which the server
// sends requests and notifications outside any call. Behind it the gateway
// opens the same stream on every remote target of the session (with the
// target's own session id, from the sealed session) and relays what comes:
// requests with ids that name the target (as in a call's answer, so that
// the client's answer finds it), notifications as they are, and the
// targets' list_changed notifications coalesced into the gateway's own
// (the federated list changed). A shared target's (stdio, HTTP+SSE)
// list_changed reaches every stream of this process whose session has it.
// Nothing is stored: the stream lives in the process that opened it, the
// client's answers may reach any replica.

// Bounds of the standalone stream.
const (
	listenQueue    = 64
	listenRetryMin = time.Second
	listenRetryMax = 30 * time.Second
)

// errNoStream is a target that offers no standalone stream (405, or an
// answer that is not an SSE stream).
var errNoStream = errors.New("mcp: the target offers no standalone stream")

// streamer is a target with a standalone stream of its own.
type streamer interface {
	// listen opens the target's standalone stream in session c, resuming
	// after lastEventID when it is set.
	listen(ctx context.Context, c *call, lastEventID string) (*http.Response, error)
}

// listChanged names the list_changed notification of each kind, by kindIndex.
var listChanged = [3]string{"notifications/tools/list_changed", "notifications/prompts/list_changed",
	"notifications/resources/list_changed"}

// listener is one client's open standalone stream.
type listener struct {
	out     chan []byte // the messages to write
	wake    chan struct{}
	targets map[string][2]string // the session's targets

	mu      sync.Mutex
	changed [3]bool // a list_changed waits to be written, by kindIndex
}

// send queues msg, waiting while the stream is full until ctx ends.
func (l *listener) send(ctx context.Context, msg []byte) {
	select {
	case l.out <- msg:
	case <-ctx.Done():
	}
}

// change notes that a list of kind changed; changes not yet written are
// written once.
func (l *listener) change(kind int) {
	l.mu.Lock()
	l.changed[kind] = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// takeChanged returns the kinds changed since last asked.
func (l *listener) takeChanged() [3]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.changed
	l.changed = [3]bool{}
	return c
}

// listeners are a backend's open standalone streams in this process.
type listeners struct {
	mu sync.Mutex
	m  map[*listener]struct{}
}

// broadcastChanged tells every stream whose session has target that its
// list of kind changed.
func (b *Backend) broadcastChanged(target, kind string) {
	b.listeners.mu.Lock()
	defer b.listeners.mu.Unlock()
	for l := range b.listeners.m {
		if _, ok := l.targets[target]; ok {
			l.change(kindIndex(kind))
		}
	}
}

// acceptsSSE reports whether the request's Accept allows an SSE stream.
func acceptsSSE(rc *fasthttp.RequestCtx) bool {
	a := rc.Request.Header.Peek("Accept")
	return len(a) == 0 || bytes.Contains(a, []byte("text/event-stream")) || bytes.Contains(a, []byte("*/*"))
}

// serveListen opens the client's standalone stream.
func (b *Backend) serveListen(rc *fasthttp.RequestCtx, c *Caller, out *Outcome) {
	out.Method = "GET"
	if !acceptsSSE(rc) {
		fail(rc, out, http.StatusNotAcceptable, errorf(codeInvalidRequest, "a GET opens an SSE stream: Accept must allow text/event-stream"))
		return
	}
	s := b.requireSession(rc, out)
	if s == nil {
		return
	}
	b.listeners.mu.Lock()
	open := len(b.listeners.m)
	b.listeners.mu.Unlock()
	if open >= maxSSEStreams {
		fail(rc, out, http.StatusServiceUnavailable, errorf(codeInternal, "too many open streams"))
		return
	}
	rc.SetStatusCode(http.StatusOK)
	rc.SetContentType("text/event-stream")
	rc.Response.Header.Set("Cache-Control", "no-cache")
	conn := rc.Conn()
	rc.SetBodyStreamWriter(func(w *bufio.Writer) { b.listen(s, c, &eventWriter{w: w, conn: conn}) })
}

// listen relays the targets' standalone streams to w until the client
// leaves, the session expires or the backend closes; then it closes them.
func (b *Backend) listen(s *session, c *Caller, w *eventWriter) {
	l, stop := b.attach(s, c)
	defer stop()
	// The first bytes send the headers: the client knows the stream is open.
	defer w.done()
	if !w.write([]byte(": switchyard stream\n\n")) {
		return
	}
	tick := time.NewTicker(b.keepAlive)
	defer tick.Stop()
	ttl := time.NewTimer(max(time.Until(time.Unix(s.IssuedAt, 0).Add(b.seal.ttl)), time.Second))
	defer ttl.Stop()
	var ev []byte
	for {
		ev = ev[:0]
		select {
		case msg := <-l.out:
			ev = appendEvent(ev, msg)
		case <-l.wake:
			ev = l.appendChanged(ev)
		case <-tick.C:
			ev = append(ev, ": keep-alive\n\n"...)
		case <-ttl.C:
			return
		case <-b.done:
			return
		}
		if !w.write(ev) {
			return // the client left, or stopped reading
		}
	}
}

// attach returns a listener of session s, fed by the standalone streams of
// its remote targets (opened with c's credentials) and the list changes of
// its shared ones, and the function that closes those streams.
func (b *Backend) attach(s *session, c *Caller) (*listener, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{out: make(chan []byte, listenQueue), wake: make(chan struct{}, 1), targets: s.Targets}
	b.listeners.mu.Lock()
	b.listeners.m[l] = struct{}{}
	b.listeners.mu.Unlock()
	var wg sync.WaitGroup
	for _, mb := range b.members {
		ts, ok := s.Targets[mb.name]
		st, can := mb.t.(streamer)
		if !ok || !can {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.follow(ctx, mb.name, st, &call{caller: c, session: ts}, l)
		}()
	}
	return l, func() {
		cancel()
		b.listeners.mu.Lock()
		delete(b.listeners.m, l)
		b.listeners.mu.Unlock()
		wg.Wait()
	}
}

// appendChanged appends the gateway's list_changed of each list changed
// since the last call.
func (l *listener) appendChanged(ev []byte) []byte {
	for k, changed := range l.takeChanged() {
		if changed {
			ev = appendEvent(ev, []byte(`{"jsonrpc":"2.0","method":"`+listChanged[k]+`"}`))
		}
	}
	return ev
}

// streamWriteBound bounds each write of a stream to its client: one that
// stops reading (its receive window full) ends the stream.
const streamWriteBound = 30 * time.Second

// eventWriter writes a stream's events to its client, each flushed within
// streamWriteBound when the client's connection is known.
type eventWriter struct {
	w    *bufio.Writer
	conn net.Conn // nil: writes not bounded
}

// write writes and flushes ev; false when the client cannot take it.
func (e *eventWriter) write(ev []byte) bool {
	if e.conn != nil {
		_ = e.conn.SetWriteDeadline(time.Now().Add(streamWriteBound))
	}
	_, err := e.w.Write(ev)
	return err == nil && e.w.Flush() == nil
}

// done clears the deadline, so that a later response on the connection is
// not cut by it.
func (e *eventWriter) done() {
	if e.conn != nil {
		_ = e.conn.SetWriteDeadline(time.Time{})
	}
}

// appendEvent appends an SSE message event carrying msg (one line of JSON).
func appendEvent(ev, msg []byte) []byte {
	ev = append(ev, "event: message\ndata: "...)
	ev = append(ev, msg...)
	return append(ev, '\n', '\n')
}

// follow relays one target's standalone stream to l, opening it again
// (after a backoff, resuming after the last event) when it ends, until ctx
// ends. A target that offers no stream or no longer knows the session is
// left alone.
func (b *Backend) follow(ctx context.Context, target string, st streamer, c *call, l *listener) {
	backoff := listenRetryMin
	lastID := ""
	for ctx.Err() == nil {
		resp, err := st.listen(ctx, c, lastID)
		switch {
		case errors.Is(err, errNoStream), errors.Is(err, errSessionGone):
			b.log.Debug("mcp: target has no standalone stream", "backend", b.name, "target", target, "err", err.Error())
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("mcp: target standalone stream failed; opening it again", "backend", b.name, "target", target,
				"in", backoff.String(), "err", err.Error())
		default:
			started := time.Now()
			lastID = b.relayStream(ctx, target, resp, l, lastID)
			_ = resp.Body.Close()
			if time.Since(started) > time.Minute {
				backoff = listenRetryMin
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenRetryMax)
	}
}

// relayStream relays the events of one target stream to l until it ends;
// it returns the id of the last event that had one.
func (b *Backend) relayStream(ctx context.Context, target string, resp *http.Response, l *listener, lastID string) string {
	_ = eachEvent(resp.Body, func(data []byte, id string) bool {
		if id != "" {
			lastID = id
		}
		b.dispatch(ctx, target, data, l)
		return true
	})
	return lastID
}

// dispatch relays one message of a target's stream: a request with an id
// that names the target, a list_changed as the gateway's own (coalesced),
// another notification as it is; a response has no place here and is
// dropped.
func (b *Backend) dispatch(ctx context.Context, target string, data []byte, l *listener) {
	var m message
	if json.Unmarshal(data, &m) != nil || m.JSONRPC != "2.0" || m.Method == "" {
		return
	}
	for k, name := range listChanged {
		if m.Method == name {
			l.change(k)
			return
		}
	}
	if m.isRequest() {
		m.ID = wrapServerID(target, m.ID)
	}
	msg, err := json.Marshal(&m) // one line: an SSE data field
	if err != nil {
		return
	}
	l.send(ctx, msg)
}

// listen implements streamer: GET on the endpoint in the target's session.
func (t *httpTarget) listen(ctx context.Context, c *call, lastEventID string) (*http.Response, error) {
	if c.session[0] == "" {
		return nil, fmt.Errorf("%w: it keeps no session", errNoStream)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return nil, fmt.Errorf("mcp: target stream: %w", err)
	}
	h := req.Header
	h.Set("Accept", "text/event-stream")
	h.Set("Mcp-Session-Id", c.session[0])
	if c.session[1] != "" {
		h.Set("Mcp-Protocol-Version", c.session[1])
	}
	if lastEventID != "" {
		h.Set("Last-Event-ID", lastEventID)
	}
	authorize(h, t.auth, c.caller)
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mcp: target unreachable: %w", err)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		drain(resp)
		return nil, errSessionGone
	case resp.StatusCode >= 400 && resp.StatusCode < 500, resp.StatusCode == http.StatusOK && mt != "text/event-stream":
		drain(resp)
		return nil, fmt.Errorf("%w (HTTP %d, %s)", errNoStream, resp.StatusCode, strings.TrimSpace(mt))
	case resp.StatusCode != http.StatusOK:
		drain(resp)
		return nil, fmt.Errorf("mcp: target stream answered HTTP %d", resp.StatusCode)
	}
	return resp, nil
}

// setLevel passes the client's logging/setLevel to the session's remote
// targets (a shared target's level is every client's, and is left alone),
// so that they send log messages on their streams.
func (b *Backend) setLevel(ctx context.Context, s *session, c *Caller, m *message) {
	var wg sync.WaitGroup
	for _, mb := range b.members {
		ts, ok := s.Targets[mb.name]
		if _, can := mb.t.(streamer); !ok || !can {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := mb.t.request(ctx, &call{caller: c, session: ts}, m, false); err != nil {
				b.log.Debug("mcp: target refused logging/setLevel", "backend", b.name, "target", mb.name, "err", err.Error())
			}
		}()
	}
	wg.Wait()
}
