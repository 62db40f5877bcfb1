package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// hugeSpec is a document whose one operation's schema has far more than
// maxSchemaNodes nodes, next to a small operation.
func hugeSpec() string {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: huge, version: '1'}\nservers: [{url: 'http://api.invalid'}]\n")
	b.WriteString("paths:\n  /big:\n    post:\n      operationId: big\n      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/S0'}\n      responses: {'200': {description: ok}}\n")
	b.WriteString("  /small:\n    get:\n      operationId: small\n      responses: {'200': {description: ok}}\n")
	b.WriteString("components:\n  schemas:\n")
	// Each level holds 8 references to the next: 8^5 nodes once expanded.
	for i := 0; i < 6; i++ {
		fmt.Fprintf(&b, "    S%d:\n      type: object\n      properties:\n", i)
		for j := 0; j < 8; j++ {
			if i == 5 {
				fmt.Fprintf(&b, "        p%d: {type: string}\n", j)
			} else {
				fmt.Fprintf(&b, "        p%d: {$ref: '#/components/schemas/S%d'}\n", j, i+1)
			}
		}
	}
	return b.String()
}

// TestOpenAPIDocuments loads documents users get wrong or hostile ones:
// each gives tools for what it can express, or a clear error, never a
// panic or a hang.
func TestOpenAPIDocuments(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, spec string
		tools      []string
		err        string
	}{
		{"reference cycles", "testdata/cycles.yaml", []string{"addNode"}, ""},
		{"huge schema skipped", write("huge.yaml", hugeSpec()), []string{"small"}, ""},
		{"swagger 2", write("swagger.yaml", "swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n"), nil, "not an OpenAPI 3 document"},
		{"not YAML", write("junk.yaml", "{{{{ :::"), nil, "not an OpenAPI 3 document"},
		{"missing file", filepath.Join(dir, "nope.yaml"), nil, "no such file"},
		{"external reference", write("ext.yaml", "openapi: 3.0.3\ninfo: {title: x, version: '1'}\nservers: [{url: 'http://a.invalid'}]\npaths:\n  /x:\n    get:\n      parameters: [{name: q, in: query, schema: {$ref: 'other.yaml#/S'}}]\n      responses: {'200': {description: ok}}\n"), nil, "not an OpenAPI 3 document"},
		{"no server", write("noserver.yaml", "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n"), nil, "names no server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			tgt, err := newOpenAPITarget(ctx, "api", &config.OpenAPITarget{Spec: tc.spec}, &config.MCPTargetAuth{},
				http.DefaultClient, time.Second, slog.New(slog.DiscardHandler))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, raw := range tgt.tools {
				var tool struct {
					Name        string          `json:"name"`
					InputSchema json.RawMessage `json:"inputSchema"`
				}
				if err := json.Unmarshal(raw, &tool); err != nil {
					t.Fatal(err)
				}
				if len(tool.InputSchema) > 1<<20 {
					t.Errorf("tool %s has a %d-byte schema", tool.Name, len(tool.InputSchema))
				}
				names = append(names, tool.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.tools) {
				t.Errorf("tools = %v, want %v", names, tc.tools)
			}
		})
	}
}

// TestOpenAPIArguments checks how arguments become a request.
func TestOpenAPIArguments(t *testing.T) {
	tests := []struct {
		name string
		args string
		url  string
		err  string
	}{
		{"path and query", `{"petId": 7, "verbose": true}`, "http://api.invalid/v1/pets/7?verbose=true", ""},
		{"escaped path", `{"petId": "a/b c"}`, "http://api.invalid/v1/pets/a%2Fb%20c", ""},
		{"missing path parameter", `{}`, "", "missing required argument"},
		{"object for a query", `{"petId": 1, "verbose": {"x": 1}}`, "", "must be a string"},
	}
	spec := filepath.Join("..", "test", "e2e", "testdata", "petstore.yaml")
	tgt, err := newOpenAPITarget(context.Background(), "pets", &config.OpenAPITarget{Spec: spec, BaseURL: "http://api.invalid/v1"},
		&config.MCPTargetAuth{}, http.DefaultClient, time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var args map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.args), &args); err != nil {
				t.Fatal(err)
			}
			req, rerr := tgt.build(context.Background(), tgt.ops["getPet"], args)
			if tc.err != "" {
				if rerr == nil || !strings.Contains(rerr.Message, tc.err) {
					t.Fatalf("err = %v, want %q", rerr, tc.err)
				}
				return
			}
			if rerr != nil {
				t.Fatal(rerr)
			}
			if req.URL.String() != tc.url {
				t.Errorf("url = %s, want %s", req.URL, tc.url)
			}
		})
	}
}
