package bedrock

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// TestDecodeConverseMatchesUnmarshal checks the one-pass decoder of Converse
// responses against json.Unmarshal: the golden responses and well-formed
// variants are taken and decoded the same; the rest is left to
// json.Unmarshal (fast false).
func TestDecodeConverseMatchesUnmarshal(t *testing.T) {
	files, err := filepath.Glob("testdata/*.response.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden responses: %v", err)
	}
	tests := []struct {
		name string
		body string
		fast bool
	}{
		{"nulls", `{"output":{"message":{"role":null,"content":[null,{"text":null,"toolUse":null}]}},"stopReason":null,"usage":null}`, true},
		{"null output", `{"output":null,"usage":{"inputTokens":1,"cacheReadInputTokens":2,"cacheWriteInputTokens":3}}`, true},
		{"tool use", `{"output":{"message":{"content":[{"toolUse":{"toolUseId":"t","name":"f","input":null}},` +
			`{"toolUse":{"input":{"a":[1, "<b>"]}}},{"reasoningContent":{"reasoningText":{"text":"hm"}}}]}},"x":[1]}`, true},
		{"escapes", `{"output":{"message":{"content":[{"text":"a\nb\"c\u00e9\t"}]}}}`, true},
		{"empty content", `{"output":{"message":{"content":[]}}}`, true},
		{"surrogate escapes", `{"output":{"message":{"content":[{"text":"\ud83d\ude00 \ud800"}]}}}`, true},
		{"case-folded key", `{"StopReason":"end_turn"}`, false},
		{"repeated key", `{"stopReason":"a","stopReason":"b"}`, false},
		{"escaped key", `{"stop\u0052eason":"a"}`, true},
		{"float tokens", `{"usage":{"inputTokens":1.5}}`, false},
		{"string tokens", `{"usage":{"inputTokens":"1"}}`, false},
		{"number text", `{"output":{"message":{"content":[{"text":1}]}}}`, false},
		{"array output", `{"output":[]}`, false},
		{"not an object", `[]`, false},
		{"null", `null`, true},
		{"invalid", `{"output":`, false},
		{"invalid utf8", "{\"stopReason\":\"a\xffb\"}", false},
	}
	for _, f := range files {
		tests = append(tests, struct {
			name string
			body string
			fast bool
		}{filepath.Base(f), string(testutil.ReadFile(t, f)), true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkDecodeConverse(t, []byte(tt.body), &tt.fast) })
	}
}

// checkDecodeConverse fails when decodeConverse takes body and decodes it
// differently from json.Unmarshal, or (fast non-nil) takes it or not
// against *fast.
func checkDecodeConverse(t *testing.T, body []byte, fast *bool) {
	t.Helper()
	var got, want converseResponse
	ok := decodeConverse(body, &got)
	if fast != nil && ok != *fast {
		t.Fatalf("decodeConverse took it: %v, want %v", ok, *fast)
	}
	err := json.Unmarshal(body, &want)
	if ok && (err != nil || !reflect.DeepEqual(got, want)) {
		t.Fatalf("decoded %q differently (json.Unmarshal error %v):\ngot  %+v\nwant %+v", body, err, got, want)
	}
}

// FuzzDecodeConverse compares decodeConverse with json.Unmarshal.
func FuzzDecodeConverse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.response.json")
	for _, file := range files {
		f.Add(testutil.ReadFile(f, file))
	}
	f.Add([]byte(`{"output":{"message":{"content":[{"text":"a\u00e9"},null]}},"usage":{"totalTokens":-1}}`))
	f.Fuzz(func(t *testing.T, body []byte) { checkDecodeConverse(t, body, nil) })
}
