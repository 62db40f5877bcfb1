//lint:file-ignore SA1019 logging and roots are deprecated only from MCP 2026-07-28; the gateway speaks 2025-11-25 and older, where they are what servers use outside a call.

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// streamServer is a streamable HTTP server of the official SDK with one
// tool; it counts the standalone (GET) streams open on it, or refuses them
// with 405 when noStream is set.
type streamServer struct {
	*httptest.Server
	s      *mcp.Server
	open   atomic.Int32
	opened chan struct{}
}

func startStreamServer(t *testing.T, name, tool string, noStream bool) *streamServer {
	t.Helper()
	ss := &streamServer{s: mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil), opened: make(chan struct{}, 16)}
	mcp.AddTool(ss.s, &mcp.Tool{Name: tool, Description: tool + " of " + name},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + in.Text}}}, nil, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ss.s }, nil)
	ss.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if noStream {
				http.Error(w, "no stream here", http.StatusMethodNotAllowed)
				return
			}
			ss.open.Add(1)
			defer ss.open.Add(-1)
			select {
			case ss.opened <- struct{}{}:
			default:
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ss.Close)
	return ss
}

// session is the server's one session with the gateway.
func (ss *streamServer) session(t *testing.T) *mcp.ServerSession {
	t.Helper()
	for s := range ss.s.Sessions() {
		return s
	}
	t.Fatal("no session on the server")
	return nil
}

// waitFor polls cond for up to 10 s, doing each time (when set) first.
func waitFor(t *testing.T, what string, each func(), cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if each != nil {
			each()
		}
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
	}
}

// outOfCallClient is an official Go client that records the log messages
// it gets ("<level> <logger> <data>") and signals each tools/list_changed;
// its one root is file:///srv/work.
func outOfCallClient() (*mcp.Client, func(string) bool, chan struct{}) {
	var mu sync.Mutex
	var logs []string
	changed := make(chan struct{}, 16)
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf("%s %s %v", req.Params.Level, req.Params.Logger, req.Params.Data))
			mu.Unlock()
		},
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	})
	client.AddRoots(&mcp.Root{URI: "file:///srv/work", Name: "work"})
	logged := func(want string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(logs, want)
	}
	return client, logged, changed
}

// TestMCPStandaloneStream relays what targets send outside any call: the
// client's GET stream on the gateway opens each remote target's own; log
// messages, list_changed (a remote target's and a stdio target's) and a
// server's roots/list request reach the official Go client, whose answer
// goes back to the server. A target that refuses the stream (405) is left
// out; the others serve.
func TestMCPStandaloneStream(t *testing.T) {
	a := startStreamServer(t, "a", "alpha", false)
	b := startStreamServer(t, "b", "beta", false)
	c := startStreamServer(t, "c", "gamma", true)
	g := startAIGateway(t, mcpRoute(`  - name: tools
    mcp:
      targets:
        - {name: a, url: "`+a.URL+`"}
        - {name: b, url: "`+b.URL+`"}
        - {name: c, url: "`+c.URL+`"}
        - {name: local, stdio: {command: "`+mcpStdioServer(t)+`", env: {MCPSTDIO_GROW: "1"}}}
`))
	client, logged, changed := outOfCallClient()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: g.URL("/mcp")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for _, s := range []*streamServer{a, b} {
		select {
		case <-s.opened:
		case <-ctx.Done():
			t.Fatalf("the gateway never opened the stream of %s", s.URL)
		}
	}
	if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
		t.Fatal(err)
	}

	// Log messages of two targets, sent until they arrive (a server drops
	// what it sends before the gateway's stream is in place).
	sa, sb := a.session(t), b.session(t)
	waitFor(t, "a's log message", func() {
		_ = sa.Log(ctx, &mcp.LoggingMessageParams{Level: "warning", Logger: "a-log", Data: "disk almost full"})
		_ = sb.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "b-log", Data: "hello"})
		_ = sb.Log(ctx, &mcp.LoggingMessageParams{Level: "debug", Logger: "b-log", Data: "below the level"})
	}, func() bool { return logged("warning a-log disk almost full") && logged("info b-log hello") })
	if logged("debug b-log below the level") {
		t.Error("a message below the client's level was relayed: logging/setLevel did not reach the target")
	}

	// A tool added on a: tools/list_changed, and the new tool listed.
	a.s.AddTool(&mcp.Tool{Name: "late", Description: "added after initialize", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "late"}}}, nil
		})
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no tools/list_changed after a tool was added on a")
	}
	if got := toolNames(t, cs); !slices.Equal(got, []string{"alpha", "beta", "crash", "gamma", "grow", "late", "pid", "shout"}) {
		t.Errorf("tools after the change = %v", got)
	}
	if text, err := callText(t, cs, "late", map[string]any{}); err != nil || text != "late" {
		t.Errorf("late = %q, %v", text, err)
	}

	// A request of the server outside any call, answered by the client.
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	roots, err := sa.ListRoots(rctx, nil)
	rcancel()
	if err != nil || len(roots.Roots) != 1 || roots.Roots[0].URI != "file:///srv/work" {
		t.Fatalf("roots/list through the gateway = %+v, %v", roots, err)
	}

	// The stdio target's list changes: every stream of a session with it hears.
	for len(changed) > 0 {
		<-changed
	}
	if text, err := callText(t, cs, "grow", map[string]any{}); err != nil || text != "grew" {
		t.Fatalf("grow = %q, %v", text, err)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no tools/list_changed after the stdio target added a tool")
	}
	if got := toolNames(t, cs); !slices.Contains(got, "grown") {
		t.Errorf("tools after grow = %v", got)
	}
	// c refused the stream and still serves.
	if text, err := callText(t, cs, "gamma", map[string]any{"text": "x"}); err != nil || text != "c:x" {
		t.Errorf("gamma = %q, %v", text, err)
	}

	// The client leaves: the targets' streams end.
	_ = cs.Close()
	waitFor(t, "the targets' streams to close", nil, func() bool { return a.open.Load() == 0 && b.open.Load() == 0 })
}

// TestMCPLegacySSEOutOfCall gives a client of the older HTTP+SSE transport
// what a target sends outside any call, on its one stream: a log message, a
// tools/list_changed and a roots/list request it answers.
func TestMCPLegacySSEOutOfCall(t *testing.T) {
	a := startStreamServer(t, "a", "alpha", false)
	g := startAIGateway(t, mcpRoute(`  - name: tools
    mcp: {targets: [{name: a, url: "`+a.URL+`"}]}
`))
	client, logged, changed := outOfCallClient()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.SSEClientTransport{Endpoint: g.URL("/mcp/sse")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	select {
	case <-a.opened:
	case <-ctx.Done():
		t.Fatal("the gateway never opened the target's stream")
	}
	if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
		t.Fatal(err)
	}
	sa := a.session(t)
	waitFor(t, "the log message", func() {
		_ = sa.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "a-log", Data: "over SSE"})
	}, func() bool { return logged("info a-log over SSE") })
	a.s.AddTool(&mcp.Tool{Name: "late", Description: "added after initialize", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no tools/list_changed")
	}
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if roots, err := sa.ListRoots(rctx, nil); err != nil || len(roots.Roots) != 1 || roots.Roots[0].URI != "file:///srv/work" {
		t.Fatalf("roots/list through the gateway = %+v, %v", roots, err)
	}
}
