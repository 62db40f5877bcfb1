package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// TestMCPExample runs examples/mcp.yaml as it is, twice with one session
// key: a session begun on the first process goes on on the second, over the
// remote, stdio and OpenAPI targets (the document fetched by URL, its
// relative server URL resolved against it).
func TestMCPExample(t *testing.T) {
	remote, _ := startMCPServer(t, "remote", "weather")
	api := startPetAPI(t)
	env := []string{
		"MCP_UPSTREAM_URL=" + remote.URL,
		"MCP_STDIO_COMMAND=" + mcpStdioServer(t),
		"OPENAPI_SPEC=" + api.URL + "/openapi.yaml",
		"MCP_SESSION_KEY=example-session-key-0123",
	}
	start := func() *gateway {
		port := testutil.FreePort(t)
		g := runGateway(t, []string{"run", "-c", mustAbs(t, "../../examples/mcp.yaml")}, append(env, fmt.Sprintf("PORT=%d", port)))
		g.Port = port
		t.Cleanup(func() { checkGatewayHealth(t, g) })
		return g
	}
	g1, g2 := start(), start()
	sw := &switchHost{to: g1.Addr()}
	cs := mcpConnect(t, g1.URL("/mcp"), &http.Client{Transport: sw})
	want := []string{"crash", "createPet", "echo", "getPet", "pid", "progress", "shout", "weather"}
	if got := toolNames(t, cs); !slices.Equal(got, want) {
		t.Fatalf("tools = %v, want %v", got, want)
	}
	sw.set(g2.Addr())
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"weather", map[string]any{"text": "oslo"}, "remote:oslo"},
		{"shout", map[string]any{"text": "hey"}, "HEY"},
		{"getPet", map[string]any{"petId": 3}, `{"id":"3","name":"rex"}`},
	} {
		if text, err := callText(t, cs, tc.tool, tc.args); err != nil || text != tc.want {
			t.Errorf("%s on the second gateway = %q, %v; want %q", tc.tool, text, err, tc.want)
		}
	}
}
