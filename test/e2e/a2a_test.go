package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"
	"github.com/a2aproject/a2a-go/v2/a2asrv"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// gatedExecutor streams a task: submitted, working, then (once released)
// an artifact echoing the message and completed.
type gatedExecutor struct{ release chan struct{} }

func (e *gatedExecutor) Execute(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		task := &a2a.Task{ID: ec.TaskID, ContextID: ec.ContextID}
		if !yield(a2a.NewSubmittedTask(ec, ec.Message), nil) || !yield(a2a.NewStatusUpdateEvent(task, a2a.TaskStateWorking, nil), nil) {
			return
		}
		select {
		case <-e.release:
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
		text := ""
		for _, p := range ec.Message.Parts {
			text += p.Text()
		}
		if !yield(a2a.NewArtifactEvent(task, a2a.NewTextPart("echo: "+text)), nil) {
			return
		}
		yield(a2a.NewStatusUpdateEvent(task, a2a.TaskStateCompleted, nil), nil)
	}
}

func (e *gatedExecutor) Cancel(_ context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCanceled, nil), nil)
	}
}

// testAgent is an A2A agent (the official Go SDK) whose JSON-RPC endpoint is
// rpcPath and whose card, served at cardPath, names it; sign adds a
// signature block to the card.
type testAgent struct {
	*httptest.Server
	exec     *gatedExecutor
	cardJSON []byte
	mu       sync.Mutex
	paths    []string
	auth     string
}

func startA2AAgent(t *testing.T, rpcPath, cardPath string, signed bool) *testAgent {
	t.Helper()
	ag := &testAgent{exec: &gatedExecutor{release: make(chan struct{})}}
	mux := http.NewServeMux()
	ag.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ag.mu.Lock()
		ag.paths = append(ag.paths, r.URL.Path)
		ag.auth = r.Header.Get("Authorization")
		ag.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ag.Close)
	card := &a2a.AgentCard{
		Name: "echo", Description: "echoes", Version: "1.0.0",
		SupportedInterfaces: []*a2a.AgentInterface{a2a.NewAgentInterface(ag.URL+rpcPath, a2a.TransportProtocolJSONRPC)},
		Capabilities:        a2a.AgentCapabilities{Streaming: true, ExtendedAgentCard: true},
		DefaultInputModes:   []string{"text/plain"}, DefaultOutputModes: []string{"text/plain"},
		Skills:   []a2a.AgentSkill{{ID: "echo", Name: "echo", Description: "echo", Tags: []string{"echo"}}},
		Provider: &a2a.AgentProvider{Org: "example", URL: "https://example.org"},
	}
	if signed {
		card.Signatures = []a2a.AgentCardSignature{{Protected: "eyJhbGciOiJFUzI1NiJ9", Signature: "c2lnbmVkLWJ5LXRoZS1hZ2VudA"}}
	}
	var err error
	if ag.cardJSON, err = json.Marshal(card); err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc(cardPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ag.cardJSON)
	})
	extended := *card
	extended.Name, extended.Signatures = "echo-extended", nil
	mux.Handle(rpcPath, a2asrv.NewJSONRPCHandler(a2asrv.NewHandler(ag.exec, a2asrv.WithExtendedAgentCard(&extended))))
	return ag
}

// a2aGateway routes prefix to one a2a backend with the given extra fields.
func a2aGateway(t *testing.T, prefix, backend string) *gateway {
	return startAIGateway(t, `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: agents
    rules: [{matches: [{path: {type: PathPrefix, value: `+prefix+`}}], backendRefs: [{name: agent}]}]
backends:
  - name: agent
    a2a: `+backend+`
`)
}

// TestA2ACardRewrite serves agent cards through the gateway: at the
// standard path, at a non-standard one, for an agent behind a path prefix,
// and signed (unchanged, or signed again by the gateway).
func TestA2ACardRewrite(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "card.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name               string
		rpcPath, cardPath  string
		signed             bool
		backend            func(agent string) string
		prefix             string
		wantURL            func(gw string) string
		wantCard           string // X-Switchyard-Card
		verifyWithGateways bool
	}{
		{"standard path", "/", "/.well-known/agent-card.json", false,
			func(a string) string { return `{url: "` + a + `/"}` }, "/agents/echo",
			func(gw string) string { return gw + "/agents/echo/" }, "rewritten", false},
		{"non-standard card path", "/rpc", "/cards/echo.json", false,
			func(a string) string { return `{url: "` + a + `/rpc", cardPath: /cards/echo.json}` }, "/echo",
			func(gw string) string { return gw + "/echo" }, "rewritten", false},
		{"agent behind a prefix", "/teams/x/agent/rpc", "/teams/x/agent/.well-known/agent-card.json", false,
			func(a string) string {
				return `{url: "` + a + `/teams/x/agent", cardPath: /teams/x/agent/.well-known/agent-card.json}`
			}, "/a2a/x",
			func(gw string) string { return gw + "/a2a/x/rpc" }, "rewritten", false},
		{"signed, kept", "/", "/.well-known/agent-card.json", true,
			func(a string) string { return `{url: "` + a + `/"}` }, "/agents/echo",
			func(string) string { return "" }, "unchanged", false},
		{"signed, signed again", "/", "/.well-known/agent-card.json", true,
			func(a string) string {
				return `{url: "` + a + `/", signing: resign, keyFile: ` + keyFile + `, keyID: gw-1}`
			}, "/agents/echo",
			func(gw string) string { return gw + "/agents/echo/" }, "resigned", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ag := startA2AAgent(t, tc.rpcPath, tc.cardPath, tc.signed)
			g := a2aGateway(t, tc.prefix, tc.backend(ag.URL))
			gw := "http://" + g.Addr()
			resp, err := http.Get(gw + tc.prefix + "/.well-known/agent-card.json")
			if err != nil {
				t.Fatal(err)
			}
			raw := drain(resp)
			if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Card") != tc.wantCard {
				t.Fatalf("card: %d %s %q", resp.StatusCode, raw, resp.Header.Get("X-Switchyard-Card"))
			}
			if tc.wantCard == "unchanged" {
				if raw != string(ag.cardJSON) {
					t.Fatalf("a signed card was changed:\n%s\nwant\n%s", raw, ag.cardJSON)
				}
				return
			}
			var card map[string]any
			if err := json.Unmarshal([]byte(raw), &card); err != nil {
				t.Fatal(err)
			}
			ifaces := card["supportedInterfaces"].([]any)
			if got := ifaces[0].(map[string]any)["url"]; got != tc.wantURL(gw) {
				t.Errorf("interface url = %v, want %s", got, tc.wantURL(gw))
			}
			if p := card["provider"].(map[string]any)["url"]; p != "https://example.org" {
				t.Errorf("the provider's url was rewritten: %v", p)
			}
			if tc.verifyWithGateways {
				verifyCardSignature(t, card, &key.PublicKey)
			}
			// A streamed task through the rewritten card, with the official client.
			streamTask(t, ag, gw+tc.prefix)
		})
	}
}

// verifyCardSignature checks the card's one signature with pub (jwx, RFC 7515
// detached payload over the card's canonical JSON without its signatures).
func verifyCardSignature(t *testing.T, card map[string]any, pub *ecdsa.PublicKey) {
	t.Helper()
	sigs := card["signatures"].([]any)
	if len(sigs) != 1 {
		t.Fatalf("signatures = %v, want the gateway's only", sigs)
	}
	sig := sigs[0].(map[string]any)
	unsigned := map[string]any{}
	for k, v := range card {
		if k != "signatures" {
			unsigned[k] = v
		}
	}
	var payload bytes.Buffer
	enc := json.NewEncoder(&payload)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(unsigned); err != nil { // sorted keys, no spaces: canonical for this card
		t.Fatal(err)
	}
	compact := sig["protected"].(string) + ".." + sig["signature"].(string)
	if _, err := jws.Verify([]byte(compact), jws.WithKey(jwa.ES256(), pub), jws.WithDetachedPayload(bytes.TrimSpace(payload.Bytes()))); err != nil {
		t.Fatalf("the gateway's signature does not verify: %v", err)
	}
}

// streamTask resolves the card at base and streams a task, releasing the
// agent's last events only once the first ones came through the gateway
// (a proxy that buffered the stream would wait forever).
func streamTask(t *testing.T, ag *testAgent, base string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	card, err := agentcard.DefaultResolver.Resolve(ctx, base)
	if err != nil {
		t.Fatalf("resolve the card at %s: %v", base, err)
	}
	client, err := a2aclient.NewFromCard(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	msg := &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("ping"))}
	var states []string
	var artifact string
	released := false
	for ev, err := range client.SendStreamingMessage(ctx, msg) {
		if err != nil {
			t.Fatalf("stream: %v (after %v)", err, states)
		}
		switch e := ev.(type) {
		case *a2a.Task:
			states = append(states, string(e.Status.State))
		case *a2a.TaskStatusUpdateEvent:
			states = append(states, string(e.Status.State))
			if e.Status.State == a2a.TaskStateWorking && !released {
				released = true
				close(ag.exec.release)
			}
		case *a2a.TaskArtifactUpdateEvent:
			for _, p := range e.Artifact.Parts {
				artifact += p.Text()
			}
		}
	}
	if !released || artifact != "echo: ping" || len(states) < 3 || states[len(states)-1] != string(a2a.TaskStateCompleted) {
		t.Fatalf("states %v, artifact %q", states, artifact)
	}
	ag.mu.Lock()
	defer ag.mu.Unlock()
	for _, p := range ag.paths {
		if strings.Contains(p, "//") || strings.Count(p, "/agent/") > 1 {
			t.Errorf("the agent got a doubled path %q", p)
		}
	}
}

// TestA2AClientAuth puts the route's client auth in front of the agent: the
// card stays public, a call without a token is a 401 JSON-RPC error, a call
// with one streams, and the agent never sees the client's token.
func TestA2AClientAuth(t *testing.T) {
	ag := startA2AAgent(t, "/", "/.well-known/agent-card.json", false)
	close(ag.exec.release)
	key, jwks := newJWKS(t)
	g := startAIGateway(t, `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: agents
    policies:
      clientAuth:
        jwt: {issuer: https://idp.example, audiences: [switchyard], jwks: {file: `+jwks+`}}
    rules: [{matches: [{path: {type: PathPrefix, value: /agents/echo}}], backendRefs: [{name: agent}]}]
backends:
  - name: agent
    a2a: {url: "`+ag.URL+`/"}
`, "SWITCHYARD_DATA_DIR="+t.TempDir())
	resp, err := http.Get(g.URL("/agents/echo/.well-known/agent-card.json"))
	if err != nil {
		t.Fatal(err)
	}
	if body := drain(resp); resp.StatusCode != 200 || !strings.Contains(body, g.URL("/agents/echo/")) {
		t.Fatalf("the card without credentials: %d %s", resp.StatusCode, body)
	}
	status, _, out := rpc(t, g.URL("/agents/echo/"), "", `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{}}`)
	if e, _ := out["error"].(map[string]any); status != 401 || e == nil {
		t.Fatalf("a call without a token: %d %v", status, out)
	}
	token := signToken(t, key, map[string]any{"sub": "caller"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	card, err := agentcard.DefaultResolver.Resolve(ctx, g.URL("/agents/echo"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := a2aclient.NewFromCard(ctx, card, a2aclient.WithJSONRPCTransport(bearerClient(token)))
	if err != nil {
		t.Fatal(err)
	}
	var artifact string
	msg := &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("auth"))}
	for ev, err := range client.SendStreamingMessage(ctx, msg) {
		if err != nil {
			t.Fatalf("stream with a token: %v", err)
		}
		if e, ok := ev.(*a2a.TaskArtifactUpdateEvent); ok {
			for _, p := range e.Artifact.Parts {
				artifact += p.Text()
			}
		}
	}
	if artifact != "echo: auth" {
		t.Fatalf("artifact %q", artifact)
	}
	// The extended card, a JSON-RPC answer, is rewritten as the public one.
	ext, err := client.GetExtendedAgentCard(ctx, &a2a.GetExtendedAgentCardRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if ext.Name != "echo-extended" || len(ext.SupportedInterfaces) != 1 || ext.SupportedInterfaces[0].URL != g.URL("/agents/echo/") {
		t.Errorf("extended card: %s %+v", ext.Name, ext.SupportedInterfaces[0])
	}
	ag.mu.Lock()
	defer ag.mu.Unlock()
	if ag.auth != "" {
		t.Errorf("the agent got the client's Authorization %q", ag.auth)
	}
}
