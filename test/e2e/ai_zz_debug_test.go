package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestAIZZDebug(t *testing.T) {
	for _, tc := range aiCases() {
		if tc.name != "anthropic" && tc.name != "bedrock" {
			continue
		}
		s := tc.setup(t)
		g := startGateway(t, s.yaml, s.env...)
		for _, body := range []string{
			`{"model":"` + tc.model + `","stream":true,"messages":[{"role":"user","content":"hi there"}]}`,
			`{"model":"titan-embed","input":"hello world"}`,
			`{"model":"cohere-embed","input":["hello world","x"]}`,
		} {
			path := "/v1/chat/completions"
			if strings.Contains(body, "embed") {
				path = "/v1/embeddings"
			}
			resp, err := http.Post(g.URL(path), "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			t.Logf("%s %s -> %d\n%s", tc.name, body, resp.StatusCode, b)
		}
	}
}
