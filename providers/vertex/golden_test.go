package vertex

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// fixedNow is the clock of every test translator.
func fixedNow() time.Time { return time.Unix(1763633702, 0) }

func testBackend() *config.AIBackend {
	return &config.AIBackend{Provider: config.ProviderVertex, Project: "my-project", Region: "us-central1"}
}

func newTestTranslator(t *testing.T, a *Adapter, b *config.AIBackend) providers.Translator {
	t.Helper()
	a.now = fixedNow
	tr, err := a.NewTranslator(schema.OpChat, b)
	if err != nil {
		t.Fatalf("NewTranslator: %v", err)
	}
	return tr
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{name: "chat", status: 200},
		{name: "chat_stream", status: 200},
		{name: "tools", status: 200},
		{name: "tools_stream", status: 200},
		{name: "images", status: 200},
		{name: "system", status: 200},
		{name: "error", status: 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := func(suffix string) string { return filepath.Join("testdata", tt.name+suffix) }
			raw := testutil.ReadFile(t, file(".request.json"))
			rawCopy := append([]byte(nil), raw...)
			tr := newTestTranslator(t, NewAdapter(), testBackend())
			up, err := tr.Request(raw, nil)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if !bytes.Equal(raw, rawCopy) {
				t.Fatal("Request mutated raw")
			}
			upJSON, _ := json.Marshal(map[string]any{
				"method": up.Method, "url": up.URL, "contentType": up.ContentType, "stream": up.Stream,
				"body": json.RawMessage(up.Body),
			})
			testutil.Golden(t, file(".upstream.json"), upJSON)

			var out []byte
			if up.Stream {
				chunks, u := testutil.StreamEvents(t, tr.Stream, bytes.NewReader(testutil.ReadFile(t, file(".response.sse"))))
				checkUsageChunk(t, chunks, u)
				out, _ = json.Marshal(chunks)
			} else {
				resp, _, err := tr.Response(tt.status, testutil.ReadFile(t, file(".response.json")))
				var se *schema.Error
				switch {
				case tt.status >= 400 && errors.As(err, &se):
					out, _ = json.Marshal(map[string]any{"status": se.Status, "body": json.RawMessage(se.JSON())})
				case err != nil:
					t.Fatalf("Response: %v", err)
				default:
					out = resp
				}
			}
			testutil.Golden(t, file(".openai.json"), out)
		})
	}
}

// checkUsageChunk checks the stream ends with a usage-only chunk equal to u.
func checkUsageChunk(t *testing.T, chunks []json.RawMessage, u schema.Usage) {
	t.Helper()
	if len(chunks) == 0 {
		t.Fatal("no chunks")
	}
	var last schema.ChatChunk
	if err := json.Unmarshal(chunks[len(chunks)-1], &last); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(u)
	got, _ := json.Marshal(last.Usage)
	if len(last.Choices) != 0 || last.Usage == nil || !bytes.Equal(got, want) {
		t.Fatalf("last chunk is not the usage chunk for %+v: %s", u, chunks[len(chunks)-1])
	}
}
