package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPLegacySSE connects a client of the older HTTP+SSE transport (the
// official Go SDK's) to the gateway, whose targets are a streamable HTTP
// server and a server of the SSE transport.
func TestMCPLegacySSE(t *testing.T) {
	a, _ := startMCPServer(t, "a")
	old := mcp.NewServer(&mcp.Implementation{Name: "old", Version: "1"}, nil)
	mcp.AddTool(old, &mcp.Tool{Name: "legacy", Description: "a tool of an SSE server"},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "old:" + in.Text}}}, nil, nil
		})
	sse := httptest.NewServer(mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return old }, nil))
	t.Cleanup(sse.Close)
	g := startAIGateway(t, mcpRoute(`  - name: tools
    mcp:
      targets:
        - {name: a, url: "`+a.URL+`"}
        - {name: old, url: "`+sse.URL+`", transport: sse}
`))
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-sse", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.SSEClientTransport{Endpoint: g.URL("/mcp/sse")}, nil)
	if err != nil {
		t.Fatalf("connect over SSE: %v", err)
	}
	defer cs.Close()
	if got := toolNames(t, cs); !slices.Equal(got, []string{"echo", "legacy", "progress"}) {
		t.Fatalf("tools = %v", got)
	}
	for tool, want := range map[string]string{"echo": "a:x", "legacy": "old:x"} {
		if text, err := callText(t, cs, tool, map[string]any{"text": "x"}); err != nil || text != want {
			t.Errorf("%s = %q, %v; want %q", tool, text, err, want)
		}
	}
	// A message for a stream this process does not hold.
	status, _, out := rpc(t, g.URL("/mcp/messages?sessionId=nope"), "", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	if status != 404 || out["error"] == nil {
		t.Errorf("unknown stream: %d %v", status, out)
	}
}
