package main

import (
	"slices"
	"testing"
)

// TestRules feeds synthetic packages to the checker: each rule fires on the
// imports it forbids, names itself, and lets the legal ones pass. The cases
// marked "(old)" were judged wrongly by the checker this table replaced (a
// forbidden import passed, a legal one was refused, or a rule was missed).
func TestRules(t *testing.T) {
	const m = module + "/"
	tests := []struct {
		name string
		pkg  pkg
		want []string // the rules that fire, in order; nil when the imports are legal
	}{
		// leaf
		{name: "config imports stdlib and yaml", pkg: pkg{ImportPath: m + "config", Imports: []string{"fmt", "os", "go.yaml.in/yaml/v3"}}},
		{name: "config imports its own subpackage (old)", pkg: pkg{ImportPath: m + "config", Imports: []string{m + "config/env"}}},
		{name: "config imports gjson", pkg: pkg{ImportPath: m + "config", Imports: []string{"github.com/tidwall/gjson"}}, want: []string{"leaf"}},
		{name: "config imports providers/schema", pkg: pkg{ImportPath: m + "config", Imports: []string{m + "providers/schema"}}, want: []string{"leaf"}},
		{name: "schema imports config", pkg: pkg{ImportPath: m + "providers/schema", Imports: []string{m + "config"}}, want: []string{"leaf"}},
		{name: "schema imports another yaml", pkg: pkg{ImportPath: m + "providers/schema", Imports: []string{"gopkg.in/yaml.v2"}}, want: []string{"leaf"}},

		// no-router
		{name: "router/ai imports router/upstream", pkg: pkg{ImportPath: m + "router/ai", Imports: []string{m + "router/upstream"}}},
		{name: "cmd imports router", pkg: pkg{ImportPath: m + "cmd/switchyard", Imports: []string{m + "router", m + "router/ai"}}},
		{name: "loadtest and e2e import router", pkg: pkg{ImportPath: m + "loadtest/harness", Imports: []string{m + "router"}}},
		{name: "store imports router", pkg: pkg{ImportPath: m + "store", Imports: []string{m + "router"}}, want: []string{"no-router"}},
		{name: "mcp imports router/route", pkg: pkg{ImportPath: m + "mcp/server", Imports: []string{m + "router/route"}}, want: []string{"no-router"}},
		{name: "a provider imports router/ai", pkg: pkg{ImportPath: m + "providers/vertex", Imports: []string{m + "router/ai"}}, want: []string{"no-router"}},

		// libraries-apart
		{name: "libraries import the leaves", pkg: pkg{ImportPath: m + "auth", Imports: []string{m + "config", m + "providers/schema"}}},
		{name: "policies imports store and auth", pkg: pkg{ImportPath: m + "policies/ratelimit", Imports: []string{m + "store/redis", m + "auth"}}},
		{name: "policies imports its own subpackage", pkg: pkg{ImportPath: m + "policies", Imports: []string{m + "policies/guardrails"}}},
		{name: "auth imports policies (old)", pkg: pkg{ImportPath: m + "auth", Imports: []string{m + "policies"}}, want: []string{"libraries-apart"}},
		{name: "policies imports providers/bedrock (old)", pkg: pkg{ImportPath: m + "policies", Imports: []string{m + "providers/bedrock"}}, want: []string{"libraries-apart"}},
		{name: "policies imports providers/tokens (old)", pkg: pkg{ImportPath: m + "policies", Imports: []string{m + "providers/tokens"}}, want: []string{"libraries-apart"}},
		{name: "mcp imports inference (old)", pkg: pkg{ImportPath: m + "mcp", Imports: []string{m + "inference"}}, want: []string{"libraries-apart"}},
		{name: "a2a imports mcp (old)", pkg: pkg{ImportPath: m + "a2a", Imports: []string{m + "mcp/tools"}}, want: []string{"libraries-apart"}},
		{name: "store imports auth (old)", pkg: pkg{ImportPath: m + "store/sqlite", Imports: []string{m + "auth"}}, want: []string{"libraries-apart"}},
		{name: "auth imports store (old)", pkg: pkg{ImportPath: m + "auth", Imports: []string{m + "store"}}, want: []string{"libraries-apart"}},
		{name: "a provider imports auth (old)", pkg: pkg{ImportPath: m + "providers/bedrock", Imports: []string{m + "auth"}}, want: []string{"libraries-apart"}},
		{name: "inference imports providers (old)", pkg: pkg{ImportPath: m + "inference/picker", Imports: []string{m + "providers"}}, want: []string{"libraries-apart"}},
		{name: "store imports router: two rules (old)", pkg: pkg{ImportPath: m + "store", Imports: []string{m + "router", m + "policies"}},
			want: []string{"no-router", "libraries-apart"}},

		// providers-apart
		{name: "a provider imports the shared packages", pkg: pkg{ImportPath: m + "providers/bedrock", Imports: []string{m + "providers", m + "providers/schema",
			m + "providers/sse", m + "providers/tokens", m + "providers/eventstream", m + "providers/bedrock/internal/x"}}},
		{name: "a local server reuses openai", pkg: pkg{ImportPath: m + "providers/vllm", Imports: []string{m + "providers/openai"}}},
		{name: "the registry imports every provider", pkg: pkg{ImportPath: m + "providers/registry", Imports: []string{m + "providers/openai",
			m + "providers/bedrock", m + "providers/vertex", m + "providers/anthropic", m + "providers/sim"}}},
		{name: "bedrock imports anthropic", pkg: pkg{ImportPath: m + "providers/bedrock", Imports: []string{m + "providers/anthropic"}}, want: []string{"providers-apart"}},
		{name: "a provider's subpackage imports another provider", pkg: pkg{ImportPath: m + "providers/vertex/auth", Imports: []string{m + "providers/sim"}},
			want: []string{"providers-apart"}},
		{name: "a provider imports the registry (old)", pkg: pkg{ImportPath: m + "providers/sim", Imports: []string{m + "providers/registry"}}, want: []string{"providers-apart"}},
		{name: "a shared helper imports a provider (old)", pkg: pkg{ImportPath: m + "providers/sse", Imports: []string{m + "providers/openai"}}, want: []string{"providers-apart"}},
		{name: "schema imports a provider: two rules", pkg: pkg{ImportPath: m + "providers/schema", Imports: []string{m + "providers/openai"}},
			want: []string{"leaf", "providers-apart"}},

		// no-cmd, no-k8s
		{name: "cmd imports k8s", pkg: pkg{ImportPath: m + "cmd/switchyard", Imports: []string{m + "k8s/controller"}}},
		{name: "k8s imports its subpackages (old)", pkg: pkg{ImportPath: m + "k8s/controller", Imports: []string{m + "k8s/translate", m + "config"}}},
		{name: "l4 imports upstream", pkg: pkg{ImportPath: m + "router/l4", Imports: []string{m + "router/upstream", m + "config", "net"}}},
		{name: "l4 imports net/http", pkg: pkg{ImportPath: m + "router/l4", Imports: []string{"net/http"}}, want: []string{"l4"}},
		{name: "h2 imports fasthttp", pkg: pkg{ImportPath: m + "router/h2", Imports: []string{"github.com/valyala/fasthttp"}}, want: []string{"h2"}},
		{name: "h2 imports engine", pkg: pkg{ImportPath: m + "router/h2", Imports: []string{m + "router/engine"}}, want: []string{"h2"}},
		{name: "h2 imports upstream and x/net", pkg: pkg{ImportPath: m + "router/h2", Imports: []string{m + "router/upstream", "golang.org/x/net/http2"}}},
		{name: "router imports cmd", pkg: pkg{ImportPath: m + "router", Imports: []string{m + "cmd/switchyard"}}, want: []string{"no-cmd"}},
		{name: "router imports k8s", pkg: pkg{ImportPath: m + "router", Imports: []string{m + "k8s/translate"}}, want: []string{"no-k8s"}},
		{name: "a test imports k8s (old)", pkg: pkg{ImportPath: m + "config", TestImports: []string{m + "k8s"}}, want: []string{"no-k8s"}},
		{name: "an external test imports cmd (old)", pkg: pkg{ImportPath: m + "test/e2e", XTestImports: []string{m + "cmd/switchyard"}}, want: []string{"no-cmd"}},

		// fasthttp
		{name: "fasthttp in the data plane", pkg: pkg{ImportPath: m + "router/upstream", Imports: []string{"github.com/valyala/fasthttp", "github.com/valyala/fasthttp/fasthttputil"}}},
		{name: "fasthttp in mcp, a2a, loadtest, fakes (old)", pkg: pkg{ImportPath: m + "internal/fakes/openaifake", Imports: []string{"github.com/valyala/fasthttp"}}},
		{name: "fasthttp in a library's tests", pkg: pkg{ImportPath: m + "auth", TestImports: []string{"github.com/valyala/fasthttp"}}},
		{name: "fasthttp in policies", pkg: pkg{ImportPath: m + "policies", Imports: []string{"github.com/valyala/fasthttp"}}, want: []string{"fasthttp"}},
		{name: "fasthttp in cmd", pkg: pkg{ImportPath: m + "cmd/switchyard", Imports: []string{"github.com/valyala/fasthttp/reuseport"}}, want: []string{"fasthttp"}},
		{name: "a look-alike of fasthttp (old)", pkg: pkg{ImportPath: m + "auth", Imports: []string{"github.com/valyala/fasthttpx"}}},

		// kubernetes
		{name: "Kubernetes libraries in k8s and cmd", pkg: pkg{ImportPath: m + "k8s/controller", Imports: []string{"k8s.io/client-go/kubernetes", "sigs.k8s.io/gateway-api/apis/v1"}}},
		{name: "Kubernetes library in router", pkg: pkg{ImportPath: m + "router", Imports: []string{"k8s.io/apimachinery/pkg/types"}}, want: []string{"kubernetes"}},
		{name: "Kubernetes library in inference", pkg: pkg{ImportPath: m + "inference", Imports: []string{"sigs.k8s.io/gateway-api-inference-extension/api"}}, want: []string{"kubernetes"}},
		{name: "Kubernetes library in config", pkg: pkg{ImportPath: m + "config", Imports: []string{"k8s.io/apimachinery/pkg/types"}}, want: []string{"leaf", "kubernetes"}},

		// the module path itself is not a prefix match
		{name: "another module with our name as prefix", pkg: pkg{ImportPath: m + "auth", Imports: []string{module + "-extras/router"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range check(tt.pkg) {
				got = append(got, v.Rule)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rules fired %q, want %q (%v)", got, tt.want, check(tt.pkg))
			}
		})
	}
}

// TestRulesNamed checks that the rules have distinct names and a reason.
func TestRulesNamed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rules {
		if r.Name == "" || r.Why == "" || r.From == nil || r.To == nil || seen[r.Name] {
			t.Errorf("rule %q: empty or repeated name, or missing reason or sets", r.Name)
		}
		seen[r.Name] = true
	}
}
