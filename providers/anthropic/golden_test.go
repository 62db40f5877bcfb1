package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// fixedCreated replaces time.Now in golden outputs.
const fixedCreated = 1700000000

var (
	anthropicBackend = &config.AIBackend{Provider: config.ProviderAnthropic}
	vertexBackend    = &config.AIBackend{Provider: config.ProviderVertex, Project: "my-project", Region: "us-east5"}
)

type goldenCase struct {
	name    string
	vertex  bool
	stream  bool
	status  int    // upstream status of the response input
	respExt string // json or sse
}

var goldenCases = []goldenCase{
	{name: "chat", status: 200, respExt: "json"},
	{name: "chat_stream", stream: true, status: 200, respExt: "sse"},
	{name: "tools", status: 200, respExt: "json"},
	{name: "tools_stream", stream: true, status: 200, respExt: "sse"},
	{name: "images", status: 200, respExt: "json"},
	{name: "system", status: 200, respExt: "json"},
	{name: "error", status: 529, respExt: "json"},
	{name: "vertex_chat", vertex: true, status: 200, respExt: "json"},
	{name: "vertex_chat_stream", vertex: true, stream: true, status: 200, respExt: "sse"},
}

func newTestTranslator(t *testing.T, vertex bool) *translator {
	t.Helper()
	a, b := NewAdapter(), anthropicBackend
	if vertex {
		a, b = NewVertexAdapter(), vertexBackend
	}
	tr, err := a.NewTranslator(schema.OpChat, b)
	if err != nil {
		t.Fatalf("NewTranslator: %v", err)
	}
	x := tr.(*translator)
	x.created = fixedCreated
	return x
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", tc.name)
			raw := testutil.ReadFile(t, dir+".request.json")
			tr := newTestTranslator(t, tc.vertex)
			up, err := tr.Request(raw, nil)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if up.Stream != tc.stream {
				t.Errorf("Stream = %v, want %v", up.Stream, tc.stream)
			}
			headers := map[string]string{"content-type": up.ContentType}
			for _, h := range up.Header {
				headers[h.Name] = h.Value
			}
			upstream, err := json.Marshal(map[string]any{"method": up.Method, "url": up.URL, "headers": headers,
				"body": json.RawMessage(up.Body)})
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, dir+".upstream.json", upstream)

			resp := testutil.ReadFile(t, dir+".response."+tc.respExt)
			var out []byte
			if tc.stream {
				chunks, _ := testutil.StreamEvents(t, tr.Stream, bytes.NewReader(resp))
				out, _ = json.Marshal(chunks)
			} else {
				body, _, err := tr.Response(tc.status, resp)
				var se *schema.Error
				switch {
				case errors.As(err, &se):
					out, _ = json.Marshal(map[string]any{"status": se.Status, "body": json.RawMessage(se.JSON())})
				case err != nil:
					t.Fatalf("Response: %v", err)
				default:
					out = body
				}
			}
			testutil.Golden(t, dir+".openai.json", out)
		})
	}
}
