package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
	"github.com/switchyard-ai/switchyard/k8s/kubetest"
)

// TestRunKubernetesAgents serves mcp and a2a Backends from a real API server:
// an MCP target that wants the bearer token of a Secret, an OpenAPI target
// whose document is a ConfigMap's, and an agent card re-signed with a key
// from a Secret, each through an HTTPRoute's backendRef of kind Backend.
func TestRunKubernetesAgents(t *testing.T) {
	kc := kubetest.Start(t)
	cl, ctx := kc.Client, context.Background()

	// The MCP target: the official SDK's server, behind a token check.
	srv := mcp.NewServer(&mcp.Implementation{Name: "search", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "find", Description: "finds"},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "found"}}}, nil, nil
		})
	mh := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer search-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		mh.ServeHTTP(w, r)
	}))
	defer target.Close()
	// The API behind the OpenAPI document, and the agent with its card.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `[]`) }))
	defer api.Close()
	var agent *httptest.Server
	agent = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"name":"travel","version":"1","supportedInterfaces":[{"url":%q,"protocolBinding":"JSONRPC"}]}`, agent.URL+"/rpc")
	}))
	defer agent.Close()
	_, keyPEM := testutil.SelfSignedPEM(t, 3, "agent.example")

	port := testutil.FreePort(t)
	logs := startKubernetesGateway(t, kc)

	om := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: n, Namespace: "default"} }
	sy, backendKind := gwv1.Group(v1alpha1.Group), gwv1.Kind("Backend")
	rule := func(path, backend string) gwv1.HTTPRouteRule {
		return gwv1.HTTPRouteRule{Matches: []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Value: &path}}},
			BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{
				BackendObjectReference: gwv1.BackendObjectReference{Group: &sy, Kind: &backendKind, Name: gwv1.ObjectName(backend)}}}}}
	}
	doc := `openapi: 3.0.3
info: {title: Pets, version: "1"}
servers: [{url: "` + api.URL + `"}]
paths:
  /pets:
    get:
      operationId: listPets
      responses: {"200": {description: ok}}
`
	objs := []client.Object{
		&gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "switchyard"}, Spec: gwv1.GatewayClassSpec{ControllerName: "switchyard.dev/gateway-controller"}},
		&gwv1.Gateway{ObjectMeta: om("agents"), Spec: gwv1.GatewaySpec{
			GatewayClassName: "switchyard", Listeners: []gwv1.Listener{{Name: "http", Port: gwv1.PortNumber(port), Protocol: gwv1.HTTPProtocolType}}}},
		&corev1.Secret{ObjectMeta: om("creds"), StringData: map[string]string{"token": "search-token\n",
			"sessionKey": "a-session-key-of-32-characters!!", "card.key": string(keyPEM)}},
		&corev1.ConfigMap{ObjectMeta: om("petstore"), Data: map[string]string{"openapi.yaml": doc}},
		&v1alpha1.Backend{ObjectMeta: om("tools"), Spec: v1alpha1.BackendSpec{MCP: &v1alpha1.MCPBackend{
			PrefixMode: "always", SessionKeySecretRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "sessionKey"},
			Targets: []v1alpha1.MCPTarget{
				{Name: "search", URL: target.URL, Auth: &v1alpha1.TargetAuth{TokenSecretRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "token"}}},
				{Name: "pets", OpenAPI: &v1alpha1.OpenAPITarget{ConfigMapRef: &v1alpha1.ConfigMapKeyRef{Name: "petstore", Key: "openapi.yaml"}}},
			}}}},
		&v1alpha1.Backend{ObjectMeta: om("travel"), Spec: v1alpha1.BackendSpec{A2A: &v1alpha1.A2ABackend{
			URL: agent.URL + "/rpc", CardPath: "/card.json", Signing: "resign", KeyID: "gw-1",
			SigningKeySecretRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "card.key"}}}},
		&gwv1.HTTPRoute{ObjectMeta: om("agents"), Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "agents"}}},
			Rules:           []gwv1.HTTPRouteRule{rule("/mcp", "tools"), rule("/agents/travel", "travel")}}},
	}
	for _, o := range objs {
		if err := cl.Create(ctx, o); err != nil {
			t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	// The A2A route: the card, its URL the gateway's, signed by the Secret's key.
	var card map[string]any
	testutil.Eventually(t, 30*time.Second, func() bool {
		resp, err := http.Get(base + "/agents/travel/.well-known/agent-card.json")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		card = nil
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&card) == nil
	}, "the agent card served")
	ifaces, _ := card["supportedInterfaces"].([]any)
	if len(ifaces) != 1 || ifaces[0].(map[string]any)["url"] != base+"/agents/travel" {
		t.Errorf("card interfaces = %v, want the gateway's URL %s/agents/travel", ifaces, base)
	}
	if sigs, _ := card["signatures"].([]any); len(sigs) != 1 {
		t.Errorf("card signatures = %v, want one by the gateway", card["signatures"])
	}

	// The MCP route: the official client sees both targets' tools and calls one with the Secret's token.
	c := mcp.NewClient(&mcp.Implementation{Name: "k8s-test", Version: "1"}, nil)
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	defer ccancel()
	cs, err := c.Connect(cctx, &mcp.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	res, err := cs.ListTools(cctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{"pets_listPets", "search_find"}; !slices.Equal(names, want) {
		t.Errorf("tools = %v, want %v", names, want)
	}
	out, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: "search_find", Arguments: map[string]any{}})
	if err != nil || out.IsError || len(out.Content) != 1 || out.Content[0].(*mcp.TextContent).Text != "found" {
		t.Errorf("search_find = %+v, %v", out, err)
	}

	// A change to the ConfigMap is followed: a new session sees the new operation.
	var cm corev1.ConfigMap
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "petstore"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["openapi.yaml"] += `  /pets/count:
    get:
      operationId: countPets
      responses: {"200": {description: ok}}
`
	if err := cl.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() bool {
		s, err := c.Connect(cctx, &mcp.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1}, nil)
		if err != nil {
			return false
		}
		defer s.Close()
		res, err := s.ListTools(cctx, nil)
		return err == nil && slices.ContainsFunc(res.Tools, func(tool *mcp.Tool) bool { return tool.Name == "pets_countPets" })
	}, "the new operation of the ConfigMap's document listed")
	if strings.Contains(logs.String(), "search-token") || strings.Contains(logs.String(), "BEGIN EC PRIVATE KEY") {
		t.Error("a secret reached the logs")
	}
}
