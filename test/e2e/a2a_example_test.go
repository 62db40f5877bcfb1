package e2e

import (
	"fmt"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// TestA2AExample runs examples/a2a.yaml as it is in front of an agent built
// with the official Go SDK and streams a task through it.
func TestA2AExample(t *testing.T) {
	ag := startA2AAgent(t, "/", "/.well-known/agent-card.json", false)
	port := testutil.FreePort(t)
	g := runGateway(t, []string{"run", "-c", mustAbs(t, "../../examples/a2a.yaml")},
		[]string{"A2A_AGENT_URL=" + ag.URL + "/", fmt.Sprintf("PORT=%d", port)})
	g.Port = port
	t.Cleanup(func() { checkGatewayHealth(t, g) })
	streamTask(t, ag, g.URL("/agents/assistant"))
}
