package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// defaultSnapshot builds the embedded default configuration: the OpenAI API on
// 127.0.0.1:8080 (PORT overrides), a backend for each provider whose credentials
// are in the environment, a local Ollama when one answers, and always the
// built-in sim model, so that a first request needs no account.
func defaultSnapshot(ctx context.Context, log *slog.Logger) (*config.Snapshot, error) {
	y := defaultYAML(os.LookupEnv, ollamaAnswers(ctx, "127.0.0.1:11434"))
	snap, err := config.LoadBytes("<embedded default>", []byte(y), os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("embedded default configuration: %w", err)
	}
	log.Info("no -c given: serving the embedded default configuration")
	return snap, nil
}

// defaultYAML renders the default configuration for the given environment.
func defaultYAML(lookup func(string) (string, bool), ollama bool) string {
	has := func(k string) bool { v, ok := lookup(k); return ok && v != "" }
	var b strings.Builder
	b.WriteString(`# Switchyard embedded default configuration.
listeners:
  - name: http
    address: 127.0.0.1
    port: ${PORT:-8080}
    protocol: HTTP
routes:
  - name: default/openai-api
    rules:
      - matches: [{path: {type: PathPrefix, value: /v1}}]
        backendRefs:
`)
	var backends strings.Builder
	add := func(name string, priority int, body string) {
		fmt.Fprintf(&b, "          - {name: default/%s, priority: %d}\n", name, priority)
		fmt.Fprintf(&backends, "  - name: default/%s\n    ai: %s\n", name, body)
	}
	add("sim", 0, `{provider: sim, models: [sim], sim: {outputTokens: 24, interTokenLatency: 20ms, timeToFirstToken: 50ms}}`)
	add("sim-echo", 0, `{provider: sim, models: [sim-echo], sim: {mode: echo, outputTokens: 256}}`)
	if has("OPENAI_API_KEY") {
		add("openai", 1, `{provider: openai, baseURL: "${OPENAI_BASE_URL:-https://api.openai.com}", auth: {apiKey: "${OPENAI_API_KEY}"}}`)
	}
	if has("AZURE_OPENAI_API_KEY") && has("AZURE_OPENAI_ENDPOINT") {
		add("azure", 1, `{provider: azure, baseURL: "${AZURE_OPENAI_ENDPOINT}", apiVersion: "${AZURE_OPENAI_API_VERSION:-2024-10-21}", models: [${AZURE_OPENAI_DEPLOYMENTS:-gpt-4o-mini}], auth: {apiKey: "${AZURE_OPENAI_API_KEY}"}}`)
	}
	if ollama {
		add("ollama", 2, `{provider: openai-compatible, baseURL: "http://127.0.0.1:11434"}`)
	}
	b.WriteString("backends:\n")
	b.WriteString(backends.String())
	return b.String()
}

// ollamaAnswers reports whether something accepts connections at addr, quickly.
func ollamaAnswers(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: 200 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
