package e2e

import (
	"slices"
	"testing"
)

// TestA2ANodeClient resolves the rewritten card under a route with the
// `@a2a-js/sdk` npm client and streams a task through the gateway.
func TestA2ANodeClient(t *testing.T) {
	dir := nodeClientDir(t)
	ag := startA2AAgent(t, "/teams/x/agent/rpc", "/teams/x/agent/.well-known/agent-card.json", false)
	close(ag.exec.release) // the npm client cannot open the gate: the agent streams at once
	g := a2aGateway(t, "/a2a/x", `{url: "`+ag.URL+`/teams/x/agent", cardPath: /teams/x/agent/.well-known/agent-card.json}`)
	var res struct {
		Events   []string `json:"events"`
		States   []any    `json:"states"`
		Artifact string   `json:"artifact"`
		Failed   string   `json:"failed"`
	}
	runNodeScript(t, dir, "a2a.mjs", map[string]any{"base": g.URL("/a2a/x/"), "text": "ping"}, &res)
	if res.Failed != "" || res.Artifact != "echo: ping" || !slices.Contains(res.Events, "artifactUpdate") || len(res.States) < 3 {
		t.Fatalf("npm client: %+v", res)
	}
}
