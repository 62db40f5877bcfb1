package ai

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "plain", in: "http://host:8080/v1/chat/completions", want: "http://host:8080/v1/chat/completions"},
		{name: "query", in: "https://host/v1/chat?api-key=s3cret", want: "https://host/v1/chat"},
		{name: "fragment", in: "https://host/v1#s3cret", want: "https://host/v1"},
		{name: "userinfo", in: "http://user:s3cret@host/v1/chat/completions", want: "http://host/v1/chat/completions"},
		{name: "user only", in: "http://s3cret@host/v1", want: "http://host/v1"},
		{name: "userinfo and query", in: "http://u:s3cret@host/v1?k=s3cret", want: "http://host/v1"},
		{name: "unescaped slash in password", in: "http://u:s3/cret@host/v1", want: "http://host/v1"},
		{name: "unescaped question mark in password", in: "http://u:s3?cret@host/v1", want: "http://host/v1"},
		{name: "no scheme", in: "u:s3cret@host/v1", want: "u:s3cret@host/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactURL(tt.in); got != tt.want {
				t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestUpstreamFailureLogHidesCredentials: the warning logged for an upstream
// call that failed names the backend and upstream host, never a password in
// the backend's baseURL nor a key in its query.
func TestUpstreamFailureLogHidesCredentials(t *testing.T) {
	tests := []struct {
		name, baseURL string
	}{
		{name: "password in userinfo", baseURL: "http://user:pass-s3cret@%s/v1"},
		{name: "key in query", baseURL: "http://%s/v1?token=pass-s3cret"},
		{name: "both", baseURL: "http://user:pass-s3cret@%s/v1?token=pass-s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs lockedBuf
			addr := closedAddr(t)
			h := newHarness(t, []backendSpec{{name: "dead", ai: config.AIBackend{Provider: "openai-compatible",
				BaseURL: strings.Replace(tt.baseURL, "%s", addr, 1)}}},
				Options{Log: slog.New(slog.NewJSONHandler(&logs, nil))})
			status, _, body := h.do(t, "POST", "/v1/chat/completions", "application/json",
				[]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
			if status != 502 {
				t.Fatalf("status %d body %s", status, body)
			}
			out := logs.String()
			if !strings.Contains(out, "upstream request failed") || !strings.Contains(out, addr) {
				t.Fatalf("logs lack the failure or the upstream address:\n%s", out)
			}
			if strings.Contains(out, "s3cret") {
				t.Fatalf("logs contain a credential:\n%s", out)
			}
		})
	}
}
