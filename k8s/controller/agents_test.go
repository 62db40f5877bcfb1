package controller

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
)

// TestCRDValidationAgents checks that the API server refuses invalid mcp and
// a2a Backends by the CRD's schema and CEL rules, naming the rule broken.
func TestCRDValidationAgents(t *testing.T) {
	_, cl := apiServer(t)
	ref := &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}
	mcp := func(ts ...v1alpha1.MCPTarget) v1alpha1.BackendSpec {
		return v1alpha1.BackendSpec{MCP: &v1alpha1.MCPBackend{Targets: ts}}
	}
	cases := []struct {
		name string
		spec v1alpha1.BackendSpec
		want string // "" when accepted
	}{
		{"mcp backend", v1alpha1.BackendSpec{MCP: &v1alpha1.MCPBackend{SessionKeySecretRef: ref, PrefixMode: "always",
			Targets: []v1alpha1.MCPTarget{
				{Name: "a", URL: "http://a/mcp", Transport: "sse", Auth: &v1alpha1.TargetAuth{TokenSecretRef: ref}},
				{Name: "b", Stdio: &v1alpha1.StdioTarget{Command: "srv", Env: []v1alpha1.EnvVar{{Name: "K", SecretKeyRef: ref}}}},
				{Name: "c", OpenAPI: &v1alpha1.OpenAPITarget{ConfigMapRef: &v1alpha1.ConfigMapKeyRef{Name: "m", Key: "k"}}},
			},
			ToolAccess: []config.ToolAccessRule{{Tools: []string{"/^a_.*/"}, Action: "deny", Teams: []string{"t"}}}}}, ""},
		{"a2a backend", v1alpha1.BackendSpec{A2A: &v1alpha1.A2ABackend{URL: "http://agent:9000", Signing: "resign",
			SigningKeySecretRef: ref, CardPath: "/card.json", Auth: &v1alpha1.TargetAuth{Forward: "passthrough"}}}, ""},
		{"mcp and a2a", v1alpha1.BackendSpec{MCP: &v1alpha1.MCPBackend{Targets: []v1alpha1.MCPTarget{{Name: "a", URL: "http://a"}}},
			A2A: &v1alpha1.A2ABackend{URL: "http://a"}}, "set exactly one of ai, static, mcp and a2a"},
		{"no targets", mcp(), "spec.mcp.targets"},
		{"target with url and stdio", mcp(v1alpha1.MCPTarget{Name: "a", URL: "http://a", Stdio: &v1alpha1.StdioTarget{Command: "x"}}),
			"a target sets exactly one of url, stdio and openapi"},
		{"target with nothing", mcp(v1alpha1.MCPTarget{Name: "a"}), "a target sets exactly one of url, stdio and openapi"},
		{"duplicate target names", mcp(v1alpha1.MCPTarget{Name: "a", URL: "http://a"}, v1alpha1.MCPTarget{Name: "a", URL: "http://b"}),
			"Duplicate value"},
		{"bad target name", mcp(v1alpha1.MCPTarget{Name: "a b", URL: "http://a"}), "spec.mcp.targets[0].name"},
		{"url not http", mcp(v1alpha1.MCPTarget{Name: "a", URL: "ftp://a"}), "url must be an http or https URL"},
		{"unknown transport", mcp(v1alpha1.MCPTarget{Name: "a", URL: "http://a", Transport: "ws"}), "spec.mcp.targets[0].transport"},
		{"openapi with url and configMap", mcp(v1alpha1.MCPTarget{Name: "a", OpenAPI: &v1alpha1.OpenAPITarget{URL: "http://a",
			ConfigMapRef: &v1alpha1.ConfigMapKeyRef{Name: "m", Key: "k"}}}), "exactly one of url and configMapRef"},
		{"token and api key", mcp(v1alpha1.MCPTarget{Name: "a", URL: "http://a", Auth: &v1alpha1.TargetAuth{TokenSecretRef: ref,
			APIKeySecretRef: ref}}), "set at most one of forward passthrough, apiKeySecretRef and tokenSecretRef"},
		{"env value and secret", mcp(v1alpha1.MCPTarget{Name: "a", Stdio: &v1alpha1.StdioTarget{Command: "x",
			Env: []v1alpha1.EnvVar{{Name: "K", Value: "v", SecretKeyRef: ref}}}}), "exactly one of value and secretKeyRef"},
		{"tool access action", v1alpha1.BackendSpec{MCP: &v1alpha1.MCPBackend{Targets: []v1alpha1.MCPTarget{{Name: "a", URL: "http://a"}},
			ToolAccess: []config.ToolAccessRule{{Action: "maybe"}}}}, "spec.mcp.toolAccess[0].action"},
		{"resign without key", v1alpha1.BackendSpec{A2A: &v1alpha1.A2ABackend{URL: "http://a", Signing: "resign"}},
			"signingKeySecretRef is required with signing resign"},
		{"key without resign", v1alpha1.BackendSpec{A2A: &v1alpha1.A2ABackend{URL: "http://a", SigningKeySecretRef: ref}},
			"signingKeySecretRef is required with signing resign"},
		{"a2a bad card path", v1alpha1.BackendSpec{A2A: &v1alpha1.A2ABackend{URL: "http://a", CardPath: "card.json"}},
			"cardPath must be a path beginning with /"},
		{"a2a url not http", v1alpha1.BackendSpec{A2A: &v1alpha1.A2ABackend{URL: "agent:9000"}}, "url must be an http or https URL"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &v1alpha1.Backend{ObjectMeta: metav1.ObjectMeta{Name: "b" + itoa(i), Namespace: "default"}, Spec: c.spec}
			checkCreated(t, cl.Create(context.Background(), b), c.want)
		})
	}
}

// checkCreated checks what the API server answered a create: accepted when
// want is "", else an Invalid error whose message holds want.
func checkCreated(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case want == "":
	case err == nil:
		t.Fatal("accepted an invalid resource")
	case !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want):
		t.Fatalf("err = %v, want an Invalid error with %q", err, want)
	}
}

func itoa(i int) string {
	return string(rune('a'+i/26)) + string(rune('a'+i%26))
}
