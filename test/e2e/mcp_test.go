package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpConfig is a gateway with one MCP route over two remote servers (both
// with an echo tool: a collision), a stdio server and the pet store API.
func mcpConfig(a, b, stdio, spec, api, key string) string {
	return `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: tools
    rules:
      - matches: [{path: {type: PathPrefix, value: /mcp}}]
        backendRefs: [{name: tools}]
backends:
  - name: tools
    mcp:
      sessionKey: "` + key + `"
      targets:
        - {name: a, url: "` + a + `"}
        - {name: b, url: "` + b + `", tools: {exclude: [secret]}}
        - {name: local, stdio: {command: "` + stdio + `"}}
        - {name: pets, openapi: {spec: "` + spec + `", baseURL: "` + api + `/v1"}, auth: {apiKey: pets-key-123, header: X-Api-Key}}
`
}

// TestMCPFederation federates two remote servers, a stdio server and an
// OpenAPI document behind one route, through the official Go client.
func TestMCPFederation(t *testing.T) {
	a, _ := startMCPServer(t, "a", "add")
	b, _ := startMCPServer(t, "b", "weather", "secret")
	api := startPetAPI(t)
	g := startAIGateway(t, mcpConfig(a.URL, b.URL, mcpStdioServer(t), "testdata/petstore.yaml", api.URL, "0123456789abcdef-e2e"))
	cs := mcpConnect(t, g.URL("/mcp"), nil)

	got := toolNames(t, cs)
	want := []string{"a_echo", "a_progress", "add", "b_echo", "b_progress", "crash", "createPet", "getPet", "pid", "shout", "weather"}
	if !slices.Equal(got, want) {
		t.Fatalf("tools = %v, want %v (echo collides: prefixed; secret excluded; multipart and cookie operations skipped)", got, want)
	}
	for _, tc := range []struct {
		tool string
		args any
		want string
	}{
		{"a_echo", map[string]any{"text": "hi"}, "a:hi"},
		{"b_echo", map[string]any{"text": "hi"}, "b:hi"},
		{"add", map[string]any{"text": "x"}, "a:x"},
		{"weather", map[string]any{"text": "paris"}, "b:paris"},
		{"shout", map[string]any{"text": "quiet"}, "QUIET"},
		{"getPet", map[string]any{"petId": 42, "verbose": true, "X-Trace": "t-1"}, `{"id":"42","name":"rex"}`},
	} {
		text, err := callText(t, cs, tc.tool, tc.args)
		if err != nil || text != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.tool, text, err, tc.want)
		}
	}
	api.mu.Lock()
	last := api.last
	api.mu.Unlock()
	if last.method != "GET" || last.path != "/v1/pets/42" || last.query != "verbose=true" || last.trace != "t-1" || last.key != "pets-key-123" {
		t.Errorf("the pet API got %+v; want GET /v1/pets/42?verbose=true with X-Trace t-1 and the target's key", last)
	}
	text, err := callText(t, cs, "createPet", map[string]any{"body": map[string]any{"name": "tom", "children": []any{map[string]any{"name": "kit"}}}})
	if err != nil || !strings.Contains(text, `"kit"`) {
		t.Errorf("createPet = %q, %v", text, err)
	}
	if _, err := callText(t, cs, "echo", map[string]any{"text": "x"}); err == nil || !strings.Contains(err.Error(), "unknown tool") {
		t.Errorf("a colliding name called unprefixed: %v; want unknown tool", err)
	}
	if _, err := callText(t, cs, "secret", map[string]any{"text": "x"}); err == nil {
		t.Error("an excluded tool was called")
	}
	prompts, err := cs.ListPrompts(t.Context(), nil)
	if err != nil || len(prompts.Prompts) != 2 {
		t.Fatalf("prompts/list = %+v, %v; want a_greet and b_greet", prompts, err)
	}
	pr, err := cs.GetPrompt(t.Context(), &mcp.GetPromptParams{Name: "b_greet"})
	if err != nil || len(pr.Messages) != 1 {
		t.Fatalf("prompts/get b_greet = %+v, %v", pr, err)
	}
	if !g.logged("mcpstdio ready") {
		t.Error("the stdio server's stderr was not logged")
	}
	if !g.logged(`"tool":"getPet"`) {
		t.Error("the access log does not name the tool")
	}
	if g.metric(`switchyard_mcp_calls_total{backend="default/tools",result="ok",target="a",tool="echo"}`) != 1 {
		t.Errorf("metrics: %v", g.metric(`switchyard_mcp_calls_total{backend="default/tools",result="ok",target="a",tool="echo"}`))
	}
	// The stdio server is restarted when it exits.
	pid, err := callText(t, cs, "pid", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := callText(t, cs, "crash", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		again, err := callText(t, cs, "pid", map[string]any{})
		if err == nil && again != pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stdio server was not restarted: pid %s then %s, %v", pid, again, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMCPSessionAcrossGateways starts a session on one gateway process and
// continues it on another that shares the session key; a third with another
// key refuses it.
func TestMCPSessionAcrossGateways(t *testing.T) {
	a, _ := startMCPServer(t, "a")
	b, _ := startMCPServer(t, "b")
	api := startPetAPI(t)
	stdio := mcpStdioServer(t)
	cfg := func(key string) string {
		return mcpConfig(a.URL, b.URL, stdio, "testdata/petstore.yaml", api.URL, key)
	}
	g1 := startAIGateway(t, cfg("shared-secret-key-1234"))
	g2 := startAIGateway(t, cfg("shared-secret-key-1234"))
	g3 := startAIGateway(t, cfg("another-secret-key-567"))
	sw := &switchHost{to: g1.Addr()}
	cs := mcpConnect(t, g1.URL("/mcp"), &http.Client{Transport: sw})
	if text, err := callText(t, cs, "a_echo", map[string]any{"text": "one"}); err != nil || text != "a:one" {
		t.Fatalf("on gateway 1: %q, %v", text, err)
	}
	sw.set(g2.Addr())
	for _, tool := range []string{"a_echo", "b_echo", "shout", "getPet"} {
		args := map[string]any{"text": "two"}
		if tool == "getPet" {
			args = map[string]any{"petId": 7}
		}
		if _, err := callText(t, cs, tool, args); err != nil {
			t.Errorf("%s on gateway 2 in gateway 1's session: %v", tool, err)
		}
	}
	if n := len(toolNames(t, cs)); n != 9 {
		t.Errorf("gateway 2 lists %d tools in the session, want 9", n)
	}
	sw.set(g3.Addr())
	if _, err := callText(t, cs, "a_echo", map[string]any{"text": "three"}); err == nil {
		t.Error("a gateway with another key served the session")
	}
}

// TestMCPToolAuthorization denies a tool by a JWT claim: it is absent from
// the list of callers holding the claim and their calls are refused.
func TestMCPToolAuthorization(t *testing.T) {
	a, upstreamAuth := startMCPServer(t, "a", "deploy")
	key, jwks := newJWKS(t)
	dir := t.TempDir()
	g := startAIGateway(t, `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: tools
    policies:
      clientAuth:
        jwt: {issuer: https://idp.example, audiences: [switchyard], jwks: {file: `+jwks+`}}
    rules:
      - matches: [{path: {type: PathPrefix, value: /mcp}}]
        backendRefs: [{name: tools}]
backends:
  - name: tools
    mcp:
      targets:
        - {name: a, url: "`+a.URL+`", auth: {forward: passthrough}}
      toolAccess:
        - {tools: [deploy], action: deny, claims: {role: [intern]}}
        - {tools: ["/^dep.*/"], action: allow, teams: [ops]}
      protectedResource: {authorizationServers: [https://idp.example]}
`, "SWITCHYARD_DATA_DIR="+dir)
	token := func(role string) string {
		return signToken(t, key, map[string]any{"sub": "u-" + role, "role": []any{role}, "team": "ops"})
	}
	intern := mcpConnect(t, g.URL("/mcp"), bearerClient(token("intern")))
	if got := toolNames(t, intern); !slices.Equal(got, []string{"echo", "progress"}) {
		t.Errorf("intern sees %v, want [echo progress]", got)
	}
	for _, name := range []string{"deploy", "a_deploy"} { // the prefixed form is the same tool
		if _, err := callText(t, intern, name, map[string]any{"text": "prod"}); err == nil || !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("intern's %s: %v; want refused", name, err)
		}
	}
	admin := mcpConnect(t, g.URL("/mcp"), bearerClient(token("admin")))
	if got := toolNames(t, admin); !slices.Equal(got, []string{"deploy", "echo", "progress"}) {
		t.Errorf("admin sees %v", got)
	}
	adminToken := token("admin")
	if text, err := callText(t, admin, "deploy", map[string]any{"text": "prod"}); err != nil || text != "a:prod" {
		t.Errorf("admin's deploy = %q, %v", text, err)
	}
	if got := upstreamAuth.Load().(string); got != "Bearer "+adminToken {
		t.Errorf("the target got Authorization %q; want the client's token passed through", got)
	}
	// Without credentials: a 401 that names the protected resource metadata,
	// which is served without credentials.
	status, _, out := rpc(t, g.URL("/mcp"), "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
	if status != 401 || out["error"] == nil {
		t.Fatalf("no token: %d %v", status, out)
	}
	resp, err := http.Post(g.URL("/mcp"), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	drain(resp)
	meta := g.URL("/mcp/.well-known/oauth-protected-resource")
	if challenge != `Bearer resource_metadata="`+meta+`"` {
		t.Fatalf("WWW-Authenticate = %q", challenge)
	}
	resp, err = http.Get(meta)
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	_ = json.Unmarshal([]byte(drain(resp)), &md)
	if resp.StatusCode != 200 || md["resource"] != g.URL("/mcp") || !slices.Equal(md["authorization_servers"].([]any), []any{"https://idp.example"}) {
		t.Errorf("metadata: %d %v", resp.StatusCode, md)
	}
}

// TestMCPTargetDies stops one target mid-session: its tools answer a
// JSON-RPC error, the other target's keep working.
func TestMCPTargetDies(t *testing.T) {
	a, _ := startMCPServer(t, "a")
	b, _ := startMCPServer(t, "b", "weather")
	g := startAIGateway(t, mcpRoute(`  - name: tools
    mcp:
      prefixMode: always
      timeout: 3s
      targets: [{name: a, url: "`+a.URL+`"}, {name: b, url: "`+b.URL+`"}]
`))
	cs := mcpConnect(t, g.URL("/mcp"), nil)
	if got := toolNames(t, cs); !slices.Equal(got, []string{"a_echo", "a_progress", "b_echo", "b_progress", "b_weather"}) {
		t.Fatalf("tools = %v", got)
	}
	b.CloseClientConnections()
	b.Close()
	_, err := callText(t, cs, "b_weather", map[string]any{"text": "x"})
	if err == nil || !strings.Contains(err.Error(), `target "b" failed`) {
		t.Errorf("a call to the dead target: %v", err)
	}
	if text, err := callText(t, cs, "a_echo", map[string]any{"text": "still"}); err != nil || text != "a:still" {
		t.Errorf("the live target after the other died: %q, %v", text, err)
	}
	if got := toolNames(t, cs); !slices.Equal(got, []string{"a_echo", "a_progress"}) {
		t.Errorf("tools after b died = %v", got)
	}
}

// TestMCPBadInput sends what a client should not: each is a JSON-RPC error
// with a fitting status, never a hang or a crash.
func TestMCPBadInput(t *testing.T) {
	a, _ := startMCPServer(t, "a")
	g := startAIGateway(t, mcpRoute(`  - name: tools
    mcp:
      sessionKey: bad-input-session-key
      maxMessageBytes: 65536
      targets: [{name: a, url: "`+a.URL+`"}]
  - name: batching
    mcp:
      maxBatch: 2
      targets: [{name: a, url: "`+a.URL+`"}]
`))
	url := g.URL("/mcp")
	status, sid, out := rpc(t, url, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	if status != 200 || sid == "" {
		t.Fatalf("initialize: %d %v", status, out)
	}
	// Every byte of the sealed id altered in turn is refused.
	tampered := []byte(sid)
	tampered[len(tampered)/2] ^= 1
	tests := []struct {
		name, session, body string
		status, code        int
	}{
		{"malformed JSON", sid, `{"jsonrpc":"2.0","id":1,"method":`, 400, -32700},
		{"not an object", sid, `"hello"`, 400, -32700},
		{"empty body", sid, ``, 400, -32700},
		{"wrong jsonrpc version", sid, `{"jsonrpc":"1.0","id":1,"method":"ping"}`, 400, -32600},
		{"batch refused", sid, `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]`, 400, -32600},
		{"oversized", sid, `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", 70000) + `"}}`, 413, -32600},
		{"unknown method", sid, `{"jsonrpc":"2.0","id":1,"method":"tools/explode"}`, 200, -32601},
		{"no session", "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 400, -32001},
		{"forged session", "bm90LWEtc2Vzc2lvbg", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 404, -32001},
		{"tampered session", string(tampered), `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 404, -32001},
		{"huge session id", strings.Repeat("A", 9000), `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 404, -32001},
		{"params not an object", sid, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,2]}`, 200, -32602},
		{"tool name missing", sid, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`, 200, -32602},
		{"deep nesting", sid, `{"jsonrpc":"2.0","id":1,"method":"ping","params":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, 400, -32700},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, out := rpc(t, url, tc.session, tc.body)
			e, _ := out["error"].(map[string]any)
			if status != tc.status || e == nil || e["code"] != float64(tc.code) {
				t.Fatalf("%d %v; want %d with code %d", status, out, tc.status, tc.code)
			}
		})
	}
	// A session id of one backend is refused by another (the key binds the backend).
	g.rewrite(strings.Replace(g.readConfig(t), "value: /mcp}}], backendRefs: [{name: tools}]", "value: /mcp}}], backendRefs: [{name: batching}]", 1))
	if status, _, out := rpc(t, url, sid, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); status != 404 {
		t.Errorf("another backend's session: %d %v", status, out)
	}
	status, bsid, _ := rpc(t, url, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
	if status != 200 {
		t.Fatal(status)
	}
	if status, _, out := rpc(t, url, bsid, `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":3,"method":"ping"}]`); status != 400 || out == nil {
		t.Errorf("a batch over the limit: %d %v", status, out)
	}
	req0, _ := http.NewRequest("POST", url, strings.NewReader(`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]`))
	req0.Header.Set("Mcp-Session-Id", bsid)
	resp, err := http.DefaultClient.Do(req0)
	if err != nil {
		t.Fatal(err)
	}
	var batch []map[string]any
	if err := json.Unmarshal([]byte(drain(resp)), &batch); err != nil || resp.StatusCode != 200 || len(batch) != 2 || batch[1]["result"] == nil {
		t.Errorf("a batch within the limit: %d %v %v", resp.StatusCode, batch, err)
	}
	// The standalone stream (GET) needs a session it can open and an Accept that allows SSE; PUT is no method of MCP.
	for _, tc := range []struct {
		method, session, accept string
		want                    int
	}{
		{"GET", "", "text/event-stream", 400},
		{"GET", "forged-session", "text/event-stream", 404},
		{"GET", bsid, "application/json", 406},
		{"PUT", bsid, "", 405},
	} {
		req, _ := http.NewRequest(tc.method, url, nil)
		if tc.session != "" {
			req.Header.Set("Mcp-Session-Id", tc.session)
		}
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if _ = json.Unmarshal([]byte(drain(resp)), &out); resp.StatusCode != tc.want || out["error"] == nil {
			t.Errorf("%s with session %q, Accept %q: %d %v; want %d and a JSON-RPC error", tc.method, tc.session, tc.accept, resp.StatusCode, out, tc.want)
		}
	}
	// A session replayed after its DELETE: the target forgot it, the client must initialize again.
	req, _ := http.NewRequest("DELETE", url, nil)
	req.Header.Set("Mcp-Session-Id", bsid)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	if drain(resp); resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	for _, body := range []string{`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`} {
		status, _, out := rpc(t, url, bsid, body)
		if e, _ := out["error"].(map[string]any); status != 404 || e == nil || e["code"] != float64(-32001) {
			t.Errorf("a deleted session replayed: %d %v", status, out)
		}
	}
}

// readConfig returns the gateway's configuration file with {{PORT}} restored.
func (g *gateway) readConfig(t *testing.T) string {
	b, err := os.ReadFile(g.Config)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "port: "+itoa(g.Port), "port: {{PORT}}")
}

// logged waits a few seconds for the gateway to log s.
func (g *gateway) logged(s string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(g.Logs(), s) {
			return true
		}
	}
	return false
}

// TestMCPProgress relays a target's progress notifications, sent in the
// call's SSE answer, to the client as they come.
func TestMCPProgress(t *testing.T) {
	a, _ := startMCPServer(t, "a")
	g := startAIGateway(t, mcpRoute(`  - name: tools
    mcp: {targets: [{name: a, url: "`+a.URL+`"}]}
`))
	var mu sync.Mutex
	var got []string
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			got = append(got, fmt.Sprintf("%v/%v %s %v", req.Params.Progress, req.Params.Total, req.Params.Message, req.Params.ProgressToken))
			mu.Unlock()
		}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: g.URL("/mcp"), MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	params := &mcp.CallToolParams{Name: "progress", Arguments: map[string]any{"text": "working"}}
	params.SetProgressToken("tok-1")
	res, err := cs.CallTool(ctx, params)
	if err != nil || len(res.Content) != 1 {
		t.Fatalf("call: %+v, %v", res, err)
	}
	// The client handles notifications on goroutines of its own: wait for both.
	want := []string{"1/2 working tok-1", "2/2 working tok-1"}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		done := len(got) >= len(want)
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("progress notifications = %q", got)
	}
}

// TestMCPCancellation cancels a call in flight: the client's
// notifications/cancelled reaches the target, whose handler sees its
// context end.
func TestMCPCancellation(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "slow", Version: "1"}, nil)
	cancelled := make(chan struct{}, 1)
	mcp.AddTool(s, &mcp.Tool{Name: "block", Description: "waits until cancelled"},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ echoIn) (*mcp.CallToolResult, any, error) {
			select {
			case <-ctx.Done():
				cancelled <- struct{}{}
			case <-time.After(15 * time.Second):
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "late"}}}, nil, nil
		})
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(srv.Close)
	g := startAIGateway(t, mcpRoute(`  - name: tools
    mcp: {targets: [{name: slow, url: "`+srv.URL+`"}]}
`))
	cs := mcpConnect(t, g.URL("/mcp"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "block", Arguments: map[string]any{"text": "x"}}); err == nil {
		t.Fatal("the call outlived its context")
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the target never saw the cancellation")
	}
}

// TestMCPElicitation relays a target's request to the client (elicitation,
// sent in the call's SSE answer) and the client's answer back to the target.
func TestMCPElicitation(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "asker", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "ask", Description: "asks the user for a name"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ echoIn) (*mcp.CallToolResult, any, error) {
			res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "your name?",
				RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}})
			if err != nil {
				return nil, nil, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: res.Action + ":" + fmt.Sprint(res.Content["name"])}}}, nil, nil
		})
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(srv.Close)
	g := startAIGateway(t, mcpRoute(`  - name: tools
    mcp: {targets: [{name: asker, url: "`+srv.URL+`"}]}
`))
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			if req.Params.Message != "your name?" {
				return &mcp.ElicitResult{Action: "decline"}, nil
			}
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "ada"}}, nil
		}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: g.URL("/mcp"), MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if text, err := callText(t, cs, "ask", map[string]any{"text": "x"}); err != nil || text != "accept:ada" {
		t.Fatalf("ask = %q, %v; want accept:ada", text, err)
	}
}
