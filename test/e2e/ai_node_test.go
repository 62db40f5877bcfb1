package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// nodeUsage is the usage object client.mjs reports.
type nodeUsage struct {
	Prompt     int64 `json:"prompt"`
	Completion int64 `json:"completion"`
	Total      int64 `json:"total"`
}

// nodeStream is what client.mjs collected from one stream.
type nodeStream struct {
	Chunks      int        `json:"chunks"`
	Content     string     `json:"content"`
	Finish      string     `json:"finish"`
	Usage       *nodeUsage `json:"usage"`
	UsageChunks int        `json:"usageChunks"`
	UsageLast   bool       `json:"usageLast"`
	Tool        struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"tool"`
	ToolIndexes []int `json:"toolIndexes"`
}

// nodeResult is client.mjs's output; Failed fields carry unexpected throws.
type nodeResult struct {
	Chat struct {
		Content string     `json:"content"`
		Finish  string     `json:"finish"`
		Usage   *nodeUsage `json:"usage"`
		Failed  string     `json:"failed"`
	} `json:"chat"`
	Stream struct {
		nodeStream
		Failed string `json:"failed"`
	} `json:"stream"`
	Tools struct {
		Finish      string     `json:"finish"`
		Calls       int        `json:"calls"`
		Name        string     `json:"name"`
		Arguments   string     `json:"arguments"`
		Usage       *nodeUsage `json:"usage"`
		Final       string     `json:"final"`
		FinalFinish string     `json:"finalFinish"`
		FinalUsage  *nodeUsage `json:"finalUsage"`
		Failed      string     `json:"failed"`
	} `json:"tools"`
	StreamTools struct {
		nodeStream
		Failed string `json:"failed"`
	} `json:"streamTools"`
	Embeddings *struct {
		Count  int    `json:"count"`
		Dims   int    `json:"dims"`
		Usage  int64  `json:"usage"`
		Failed string `json:"failed"`
	} `json:"embeddings"`
	Models struct {
		IDs    []string `json:"ids"`
		Failed string   `json:"failed"`
	} `json:"models"`
	Error struct {
		Thrown   bool   `json:"thrown"`
		NotFound bool   `json:"notFound"`
		Name     string `json:"name"`
		Status   int    `json:"status"`
		Code     string `json:"code"`
		Failed   string `json:"failed"`
	} `json:"error"`
}

// nodeClientDir returns test/node when node and its installed packages are
// there; otherwise it skips, or fails when CI is set.
func nodeClientDir(t *testing.T) string {
	t.Helper()
	dir := mustAbs(t, filepath.Join("..", "node"))
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json"))
	if nodeErr != nil || modErr != nil {
		msg := "node client unavailable (node on PATH: " + errString(nodeErr) + "; test/node/node_modules: " +
			errString(modErr) + "); run `npm ci` in test/node"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// runNodeClient runs client.mjs with scenario and decodes its output.
func runNodeClient(t *testing.T, dir string, scenario map[string]any) nodeResult {
	t.Helper()
	in, err := json.Marshal(scenario)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "client.mjs"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var res nodeResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("node output is not JSON: %v\n%s", err, stdout.String())
	}
	t.Logf("node client: %s", strings.TrimSpace(stdout.String()))
	return res
}

// TestAINodeClient runs the real `openai` npm client (test/node/client.mjs)
// against the gateway for several providers.
func TestAINodeClient(t *testing.T) {
	dir := nodeClientDir(t)
	want := map[string]string{"openai": "text-embedding-3-small", "sim": "sim-embed", "bedrock": "titan-embed", "anthropic": ""}
	for _, tc := range aiCases() {
		embed, ok := want[tc.name]
		if !ok {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.setup(t)
			g := startAIGateway(t, s.yaml, s.env...)
			calls := []string{"chat", "stream", "tools", "streamTools", "models", "error"}
			if embed != "" {
				calls = append(calls, "embeddings")
			}
			res := runNodeClient(t, dir, map[string]any{"baseURL": g.URL("/v1"), "apiKey": clientKey,
				"model": tc.model, "embedModel": embed, "calls": calls})
			ledger := usageLedger{}
			checkNodeResult(t, tc, res, ledger)
			if embed != "" {
				e := res.Embeddings
				if e == nil || e.Failed != "" || e.Count != 1 || e.Dims == 0 {
					t.Errorf("embeddings = %+v", e)
				} else {
					ledger.add("embeddings", embed, e.Usage, 0)
				}
			}
			ledger.check(t, g, tc.provider)
		})
	}
}

func addNodeUsage(l usageLedger, model string, u *nodeUsage) {
	if u != nil {
		l.add("chat", model, u.Prompt, u.Completion)
	}
}

func checkNodeResult(t *testing.T, tc aiCase, res nodeResult, ledger usageLedger) {
	t.Helper()
	c := res.Chat
	if c.Failed != "" || c.Content == "" || c.Finish != "stop" || c.Usage == nil || c.Usage.Prompt <= 0 || c.Usage.Completion <= 0 {
		t.Errorf("chat = %+v", c)
	}
	addNodeUsage(ledger, tc.model, c.Usage)

	s := res.Stream
	if s.Failed != "" || s.Content != c.Content || s.Finish != "stop" || s.UsageChunks != 1 || !s.UsageLast || s.Usage == nil {
		t.Errorf("stream = %+v (plain content %q)", s, c.Content)
	} else if c.Usage != nil && *s.Usage != *c.Usage {
		t.Errorf("stream usage %+v, plain %+v", *s.Usage, *c.Usage)
	}
	addNodeUsage(ledger, tc.model, s.Usage)

	tl := res.Tools
	if tl.Failed != "" || tl.Finish != "tool_calls" || tl.Calls != 1 || tl.Name != "get_weather" ||
		tl.FinalFinish != "stop" || tl.Final == "" {
		t.Errorf("tools = %+v", tl)
	}
	if tc.toolEcho && !strings.Contains(tl.Final, "Sunny, 22C") {
		t.Errorf("final answer %q does not use the tool result", tl.Final)
	}
	checkArgs(t, tl.Arguments)
	addNodeUsage(ledger, tc.model, tl.Usage)
	addNodeUsage(ledger, tc.model, tl.FinalUsage)

	st := res.StreamTools
	if st.Failed != "" || st.Finish != "tool_calls" || st.Tool.Name != "get_weather" || st.Tool.ID == "" ||
		!slices.Equal(st.ToolIndexes, []int{0}) || st.UsageChunks != 1 || !st.UsageLast {
		t.Errorf("streamed tool call = %+v", st)
	}
	checkArgs(t, st.Tool.Arguments)
	addNodeUsage(ledger, tc.model, st.Usage)

	if m := res.Models; m.Failed != "" || !slices.Contains(m.IDs, tc.model) {
		t.Errorf("models = %+v", m)
	}
	if e := res.Error; !e.Thrown || !e.NotFound || e.Status != 404 || e.Code != "model_not_found" {
		t.Errorf("unknown model: %+v, want NotFoundError 404 model_not_found", e)
	}
}
