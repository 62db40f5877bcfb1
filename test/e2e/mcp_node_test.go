package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// runNodeScript runs one of test/node's scripts with scenario and decodes
// its output into out.
func runNodeScript(t *testing.T, dir, script string, scenario, out any) {
	t.Helper()
	in, err := json.Marshal(scenario)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, script))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstderr:\n%s\nstdout:\n%s", script, err, stderr.String(), stdout.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("node output is not JSON: %v\n%s", err, stdout.String())
	}
	t.Logf("node %s: %s", script, stdout.String())
}

// nodeToolResult is one call's result as mcp.mjs reports it.
type nodeToolResult struct {
	Text    string `json:"text"`
	IsError bool   `json:"isError"`
	Failed  string `json:"failed"`
}

// TestMCPNodeClient drives the `@modelcontextprotocol/sdk` npm client
// through two gateways sharing a session key: the session it begins on one
// goes on on the other.
func TestMCPNodeClient(t *testing.T) {
	dir := nodeClientDir(t)
	a, _ := startMCPServer(t, "a")
	b, _ := startMCPServer(t, "b", "weather")
	api := startPetAPI(t)
	cfg := mcpConfig(a.URL, b.URL, mcpStdioServer(t), "testdata/petstore.yaml", api.URL, "node-client-session-key")
	g1, g2 := startAIGateway(t, cfg), startAIGateway(t, cfg)
	var res struct {
		Session string           `json:"session"`
		Tools   []string         `json:"tools"`
		Results []nodeToolResult `json:"results"`
		Resumed []nodeToolResult `json:"resumed"`
	}
	runNodeScript(t, dir, "mcp.mjs", map[string]any{
		"url": g1.URL("/mcp"), "url2": g2.URL("/mcp"),
		"calls": []map[string]any{
			{"name": "a_echo", "arguments": map[string]any{"text": "hi"}},
			{"name": "weather", "arguments": map[string]any{"text": "rome"}},
			{"name": "shout", "arguments": map[string]any{"text": "up"}},
			{"name": "getPet", "arguments": map[string]any{"petId": 5}},
		},
	}, &res)
	want := []string{"a_echo", "a_progress", "b_echo", "b_progress", "crash", "createPet", "getPet", "pid", "shout", "weather"}
	if res.Session == "" || !slices.Equal(res.Tools, want) {
		t.Fatalf("session %q, tools %v; want %v", res.Session, res.Tools, want)
	}
	texts := []string{"a:hi", "b:rome", "UP", `{"id":"5","name":"rex"}`}
	for i, w := range texts {
		for name, rs := range map[string][]nodeToolResult{"first gateway": res.Results, "second gateway": res.Resumed} {
			if i >= len(rs) || rs[i].Text != w || rs[i].IsError || rs[i].Failed != "" {
				t.Errorf("%s call %d = %+v, want %q", name, i, rs, w)
			}
		}
	}
}
