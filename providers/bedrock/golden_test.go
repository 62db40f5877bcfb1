package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

var testBackend = &config.AIBackend{Provider: config.ProviderBedrock, Region: "us-east-1"}

// newTestTranslator returns a chat translator with a fixed id and clock.
func newTestTranslator(t *testing.T) *chatTranslator {
	t.Helper()
	tr, err := New().NewTranslator(schema.OpChat, testBackend)
	if err != nil {
		t.Fatal(err)
	}
	ct := tr.(*chatTranslator)
	ct.newID = func() string { return "chatcmpl-test" }
	ct.now = func() time.Time { return time.Unix(1730000000, 0) }
	return ct
}

// streamEvent is one event of a testdata *.response.events.json file: the
// JSON payload exactly as Bedrock sends it, framed at test time.
type streamEvent struct {
	Event     string          `json:"event"`
	Exception string          `json:"exception"`
	Payload   json.RawMessage `json:"payload"`
}

// encodeEvents frames events as application/vnd.amazon.eventstream.
func encodeEvents(t *testing.T, events []streamEvent) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, ev := range events {
		msg := eventstream.Message{Payload: ev.Payload}
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		if ev.Exception != "" {
			msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
			msg.Headers.Set(":exception-type", eventstream.StringValue(ev.Exception))
		} else {
			msg.Headers.Set(":message-type", eventstream.StringValue("event"))
			msg.Headers.Set(":event-type", eventstream.StringValue(ev.Event))
		}
		if err := enc.Encode(&buf, msg); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		status int
		stream bool
	}{
		{name: "chat", status: 200},
		{name: "chat_stream", status: 200, stream: true},
		{name: "tools", status: 200},
		{name: "tools_stream", status: 200, stream: true},
		{name: "images", status: 200},
		{name: "system", status: 200},
		{name: "error", status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := func(suffix string) string { return filepath.Join("testdata", tc.name+suffix) }
			tr := newTestTranslator(t)
			raw := testutil.ReadFile(t, file(".request.json"))
			before := bytes.Clone(raw)
			up, err := tr.Request(raw, nil)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if !bytes.Equal(raw, before) {
				t.Fatal("Request mutated raw")
			}
			if up.Stream != tc.stream {
				t.Errorf("Stream = %v, want %v", up.Stream, tc.stream)
			}
			upJSON, err := json.Marshal(struct {
				Method      string          `json:"method"`
				URL         string          `json:"url"`
				ContentType string          `json:"contentType"`
				Stream      bool            `json:"stream"`
				Body        json.RawMessage `json:"body"`
			}{up.Method, up.URL, up.ContentType, up.Stream, up.Body})
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, file(".upstream.json"), upJSON)

			if tc.stream {
				var events []streamEvent
				if err := json.Unmarshal(testutil.ReadFile(t, file(".response.events.json")), &events); err != nil {
					t.Fatal(err)
				}
				chunks, _ := testutil.StreamEvents(t, tr.Stream, bytes.NewReader(encodeEvents(t, events)))
				out, _ := json.Marshal(chunks)
				testutil.Golden(t, file(".openai.json"), out)
				return
			}
			out, _, err := tr.Response(tc.status, testutil.ReadFile(t, file(".response.json")))
			if tc.status != 200 {
				var se *schema.Error
				if !errors.As(err, &se) {
					t.Fatalf("Response error = %v, want *schema.Error", err)
				}
				if se.Status != tc.status {
					t.Errorf("status = %d, want %d", se.Status, tc.status)
				}
				out = se.JSON()
			} else if err != nil {
				t.Fatalf("Response: %v", err)
			}
			testutil.Golden(t, file(".openai.json"), out)
		})
	}
}
