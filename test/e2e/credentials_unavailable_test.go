package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// noAWSCredentials is an environment in which the AWS credential chain finds
// nothing and never reaches the network.
var noAWSCredentials = []string{
	"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
	"AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials", "AWS_CONFIG_FILE=/nonexistent/config",
	"AWS_EC2_METADATA_DISABLED=true", "AWS_WEB_IDENTITY_TOKEN_FILE=", "AWS_ROLE_ARN=",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI=", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=",
}

// TestUnloadableCredentialsAreReportedNotFatal checks that a backend whose
// credentials cannot be loaded is reported in /config, answers 503 in
// OpenAI's shape, fails over to another backend, and does not stop the gateway.
func TestUnloadableCredentialsAreReportedNotFatal(t *testing.T) {
	g := startGateway(t, `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: llm
    rules:
      - backendRefs: [{name: claude}, {name: sim, priority: 1}]
backends:
  - name: claude
    ai: {provider: bedrock, region: us-east-1, baseURL: "http://127.0.0.1:9", models: [claude, shared], auth: {aws: {}}}
  - name: sim
    ai: {provider: sim, models: [sim, shared]}
`, noAWSCredentials...)

	resp, err := http.Get("http://" + g.Admin + "/config")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Unavailable map[string]string `json:"unavailable"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(cfg.Unavailable["default/claude"], "credentials cannot be loaded") {
		t.Fatalf("/config unavailable = %v", cfg.Unavailable)
	}

	tests := []struct {
		model  string
		status int
	}{
		{"claude", 503}, // only the broken backend serves it
		{"shared", 200}, // the broken backend fails over to sim
		{"sim", 200},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			resp, err := http.Post(g.URL("/v1/chat/completions"), "application/json",
				strings.NewReader(`{"model":"`+tt.model+`","messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 && !strings.Contains(string(body), `"error"`) {
				t.Fatalf("not an OpenAI error: %s", body)
			}
		})
	}
}
