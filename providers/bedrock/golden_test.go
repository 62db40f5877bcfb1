package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

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

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compareGolden compares got (JSON) with testdata/name, rewriting it with -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s", name, err, got)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from golden:\n got: %s\nwant: %s", name, pretty.Bytes(), want)
	}
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
			tr := newTestTranslator(t)
			raw := readFile(t, tc.name+".request.json")
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
			compareGolden(t, tc.name+".upstream.json", upJSON)

			if tc.stream {
				var events []streamEvent
				if err := json.Unmarshal(readFile(t, tc.name+".response.events.json"), &events); err != nil {
					t.Fatal(err)
				}
				var chunks []json.RawMessage
				_, err := tr.Stream(bytes.NewReader(encodeEvents(t, events)), func(c []byte) error {
					chunks = append(chunks, bytes.Clone(c))
					return nil
				})
				if err != nil {
					t.Fatalf("Stream: %v", err)
				}
				out, _ := json.Marshal(chunks)
				compareGolden(t, tc.name+".openai.json", out)
				return
			}
			out, _, err := tr.Response(tc.status, readFile(t, tc.name+".response.json"))
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
			compareGolden(t, tc.name+".openai.json", out)
		})
	}
}
