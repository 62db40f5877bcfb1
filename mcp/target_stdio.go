package mcp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchyard-ai/switchyard/config"
)

// stdioTarget is a target spoken to through one session of the official
// SDK's client, shared by every client session of the gateway process: a
// local MCP server run as a child process over its stdin and stdout, or a
// remote server over the older HTTP+SSE transport. The session is
// reconnected (with backoff) when it ends — a child process is restarted
// when it exits, its stderr logged line by line — and the calls in flight
// to it are bounded.
type stdioTarget struct {
	name string
	argv []string
	env  []string
	// sse, when set, is the endpoint of a remote HTTP+SSE server (argv unused).
	sse     *sdk.SSEClientTransport
	log     *slog.Logger
	timeout time.Duration
	sem     chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// changed is told when the target's list of a kind changed.
	changed func(target, kind string)

	mu sync.Mutex
	cs *sdk.ClientSession
}

var _ target = (*stdioTarget)(nil)

// newStdioTarget starts the process's supervisor.
func newStdioTarget(name string, s *config.StdioTarget, timeout time.Duration, log *slog.Logger, changed func(target, kind string)) (*stdioTarget, error) {
	argv, err := splitCommand(s.Command)
	if err != nil {
		return nil, fmt.Errorf("mcp: target %s: %w", name, err)
	}
	argv = append(argv, s.Args...)
	if len(argv) == 0 {
		return nil, fmt.Errorf("mcp: target %s: empty command", name)
	}
	n := s.MaxConcurrent
	if n <= 0 {
		n = 16
	}
	env := os.Environ()
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+string(s.Env[k]))
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &stdioTarget{name: name, argv: argv, env: env, log: log, timeout: timeout, sem: make(chan struct{}, n),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), changed: changed}
	go t.supervise()
	return t, nil
}

// supervise runs the process and restarts it when it exits, waiting longer
// after each quick failure (up to 30s).
func (t *stdioTarget) supervise() {
	defer close(t.done)
	backoff := 250 * time.Millisecond
	for t.ctx.Err() == nil {
		started := time.Now()
		t.runOnce()
		if t.ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = 250 * time.Millisecond
		}
		t.log.Warn("mcp: target session ended (stdio process exited or SSE stream closed); starting again", "target", t.name, "in", backoff.String())
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// newSSETarget is a remote server over the HTTP+SSE transport, reached
// through one shared session with the target's static credentials.
func newSSETarget(name, endpoint string, client *http.Client, auth *config.MCPTargetAuth, timeout time.Duration, log *slog.Logger, changed func(target, kind string)) *stdioTarget {
	hc := &http.Client{Transport: authTransport{base: client.Transport, auth: auth}}
	ctx, cancel := context.WithCancel(context.Background())
	t := &stdioTarget{name: name, sse: &sdk.SSEClientTransport{Endpoint: endpoint, HTTPClient: hc}, log: log,
		timeout: timeout, sem: make(chan struct{}, 64), ctx: ctx, cancel: cancel, done: make(chan struct{}), changed: changed}
	go t.supervise()
	return t
}

// authTransport adds a target's static credentials to every request.
type authTransport struct {
	base http.RoundTripper
	auth *config.MCPTargetAuth
}

// RoundTrip implements [http.RoundTripper].
func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	authorize(r.Header, a.auth, nil)
	return a.base.RoundTrip(r)
}

// runOnce connects (starting the process) and waits for the session to end.
func (t *stdioTarget) runOnce() {
	if t.sse != nil {
		t.runSSE()
		return
	}
	cmd := exec.Command(t.argv[0], t.argv[1:]...)
	cmd.Env = t.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.log.Error("mcp: stdio target", "target", t.name, "err", err.Error())
		return
	}
	go t.logStderr(stderr)
	client := t.client()
	ctx, cancel := context.WithTimeout(t.ctx, t.timeout)
	cs, err := client.Connect(ctx, &sdk.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}, nil)
	cancel()
	if err != nil {
		t.log.Error("mcp: stdio target did not start", "target", t.name, "err", err.Error())
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return
	}
	t.log.Info("mcp: stdio target started", "target", t.name, "pid", cmd.Process.Pid)
	t.serve(cs)
}

// runSSE connects to the remote server and waits for the session to end.
func (t *stdioTarget) runSSE() {
	client := t.client()
	// The SSE stream lives as long as the context Connect gets: a bounded
	// connect, then the session's own life.
	ctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	timer := time.AfterFunc(t.timeout, cancel)
	cs, err := client.Connect(ctx, t.sse, nil)
	timer.Stop()
	if err != nil {
		t.log.Error("mcp: sse target unreachable", "target", t.name, "err", err.Error())
		return
	}
	t.serve(cs)
}

// client is the SDK client of one connection: the target's list_changed
// notifications reach the streams of every session that has the target.
func (t *stdioTarget) client() *sdk.Client {
	changed := func(kind string) {
		if t.changed != nil {
			t.changed(t.name, kind)
		}
	}
	return sdk.NewClient(&sdk.Implementation{Name: "switchyard", Version: "1"}, &sdk.ClientOptions{
		ToolListChangedHandler:     func(context.Context, *sdk.ToolListChangedRequest) { changed(kindTools) },
		PromptListChangedHandler:   func(context.Context, *sdk.PromptListChangedRequest) { changed(kindPrompts) },
		ResourceListChangedHandler: func(context.Context, *sdk.ResourceListChangedRequest) { changed(kindResources) },
	})
}

// serve publishes cs until it ends.
func (t *stdioTarget) serve(cs *sdk.ClientSession) {
	t.mu.Lock()
	t.cs = cs
	t.mu.Unlock()
	stop := context.AfterFunc(t.ctx, func() { _ = cs.Close() })
	_ = cs.Wait()
	stop()
	t.mu.Lock()
	t.cs = nil
	t.mu.Unlock()
}

// logStderr logs the child's stderr, one bounded line at a time.
func (t *stdioTarget) logStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		t.log.Info("mcp: stdio target stderr", "target", t.name, "line", sc.Text())
	}
	_, _ = io.Copy(io.Discard, r)
}

// session returns the running process's session, waiting for a start in
// progress until ctx ends or a few seconds pass.
func (t *stdioTarget) session(ctx context.Context) (*sdk.ClientSession, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		t.mu.Lock()
		cs := t.cs
		t.mu.Unlock()
		if cs != nil {
			return cs, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("mcp: stdio target %s is not running", t.name)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// acquire takes a slot of the bounded calls.
func (t *stdioTarget) acquire(ctx context.Context) (*sdk.ClientSession, func(), error) {
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	release := func() { <-t.sem }
	cs, err := t.session(ctx)
	if err != nil {
		release()
		return nil, nil, err
	}
	return cs, release, nil
}

// open implements target: the process's session is shared.
func (t *stdioTarget) open(ctx context.Context, _ *call) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	cs, err := t.session(ctx)
	if err != nil {
		return "", "", err
	}
	return "", cs.InitializeResult().ProtocolVersion, nil
}

// close implements target.
func (t *stdioTarget) close(context.Context, *call) {}

// list implements target.
func (t *stdioTarget) list(ctx context.Context, _ *call, kind string) ([]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	cs, release, err := t.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var out []json.RawMessage
	add := func(v any) {
		if b, err := json.Marshal(v); err == nil {
			out = append(out, b)
		}
	}
	cursor := ""
	for page := 0; page < maxPages; page++ {
		var next string
		switch kind {
		case kindTools:
			res, err := cs.ListTools(ctx, &sdk.ListToolsParams{Cursor: cursor})
			if err != nil {
				return nil, wireError(err)
			}
			for _, x := range res.Tools {
				add(x)
			}
			next = res.NextCursor
		case kindPrompts:
			res, err := cs.ListPrompts(ctx, &sdk.ListPromptsParams{Cursor: cursor})
			if err != nil {
				return nil, wireError(err)
			}
			for _, x := range res.Prompts {
				add(x)
			}
			next = res.NextCursor
		default:
			res, err := cs.ListResources(ctx, &sdk.ListResourcesParams{Cursor: cursor})
			if err != nil {
				return nil, wireError(err)
			}
			for _, x := range res.Resources {
				add(x)
			}
			next = res.NextCursor
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// request implements target.
func (t *stdioTarget) request(ctx context.Context, _ *call, m *message, _ bool) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	cs, release, err := t.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var res any
	switch m.Method {
	case "tools/call":
		var p sdk.CallToolParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return &reply{err: errorf(codeInvalidParams, "invalid params: %v", err)}, nil
		}
		res, err = cs.CallTool(ctx, &p)
	case "prompts/get":
		var p sdk.GetPromptParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return &reply{err: errorf(codeInvalidParams, "invalid params: %v", err)}, nil
		}
		res, err = cs.GetPrompt(ctx, &p)
	case "resources/read":
		var p sdk.ReadResourceParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return &reply{err: errorf(codeInvalidParams, "invalid params: %v", err)}, nil
		}
		res, err = cs.ReadResource(ctx, &p)
	default:
		return &reply{err: errorf(codeMethodNotFound, "method %q is not supported by stdio targets", m.Method)}, nil
	}
	if err != nil {
		var we *rpcError
		if errors.As(wireError(err), &we) {
			return &reply{err: we}, nil
		}
		return nil, fmt.Errorf("mcp: stdio target %s: %w", t.name, err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("mcp: encode result: %w", err)
	}
	return &reply{result: b}, nil
}

// notify implements target: notifications are not relayed to stdio targets.
func (t *stdioTarget) notify(context.Context, *call, *message) {}

// stop implements target: the process is closed and not restarted.
func (t *stdioTarget) stop() {
	t.cancel()
	<-t.done
}

// wireError turns the SDK's JSON-RPC error into the gateway's.
func wireError(err error) error {
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return &rpcError{Code: int(we.Code), Message: we.Message, Data: we.Data}
	}
	return err
}

// splitCommand splits a command line on blanks; single and double quotes
// group, a backslash escapes the next character outside single quotes.
func splitCommand(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, in = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				args = append(args, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 || esc {
		return nil, errors.New("unterminated quote or escape in command")
	}
	if in {
		args = append(args, cur.String())
	}
	return args, nil
}
