package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// reflectDecode decodes raw with the reflection decoder, the reference.
func reflectDecode(raw []byte) (*ChatRequest, error) {
	var r ChatRequest
	err := json.Unmarshal(raw, (*chatReflect)(&r))
	return &r, err
}

// goldenBodies returns the request bodies under testdata/chat.
func goldenBodies(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/chat/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden bodies: %v", err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	return out
}

// TestDecodeChatRequestMatchesReflection checks that the single-pass decoder
// takes realistic bodies (golden files and the benchmarks' bodies) and
// decodes them exactly as the reflection decoder.
func TestDecodeChatRequestMatchesReflection(t *testing.T) {
	bodies := goldenBodies(t)
	bodies["load-1k"] = loadBody(1 << 10)
	bodies["conversation-32k"] = conversation(32 << 10)
	for name, raw := range bodies {
		t.Run(name, func(t *testing.T) {
			var fast ChatRequest
			if !decodeChatRequest(raw, &fast) {
				t.Fatal("the single-pass decoder gave up on a realistic body")
			}
			ref, err := reflectDecode(raw)
			if err != nil {
				t.Fatalf("reflection decoder: %v", err)
			}
			if !reflect.DeepEqual(&fast, ref) {
				t.Fatalf("decoded differently:\nfast %+v\nref  %+v", fast, *ref)
			}
		})
	}
}

// TestDecodeChatRequestEdgeCases covers the encoding/json behaviours the
// decoder reproduces (nulls, empty arrays, escapes, unknown members) and
// those it leaves to encoding/json (fast false): ParseChatRequest must give
// the reference's result either way.
func TestDecodeChatRequestEdgeCases(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name string
		body string
		fast bool // the single-pass decoder takes it
	}{
		{"minimal", `{"model":"m",` + msgs + `}`, true},
		{"whitespace", " \t\r\n{ \"model\" : \"m\" , " + msgs + " }\n", true},
		{"nulls", `{"model":"m",` + msgs + `,"stream":null,"max_tokens":null,"temperature":null,"stop":null,` +
			`"tools":null,"tool_choice":null,"stream_options":null,"response_format":null,"user":null,"seed":null,` +
			`"parallel_tool_calls":null}`, true},
		{"null content and parts", `{"model":"m","messages":[{"role":"assistant","content":null},` +
			`{"role":"user","content":[]},{"role":"user","content":[null,{"type":"text","text":"a"},` +
			`{"type":"image_url","image_url":null},{"type":"image_url","image_url":{"url":"u","detail":"low"}}]},null]}`, true},
		{"empty arrays", `{"model":"m",` + msgs + `,"tools":[],"stop":[]}`, true},
		{"escapes", `{"model":"m\u00e9","messages":[{"role":"user","content":"a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u20ac` +
			`\ud83d\ude00 lone \ud800 x \udc00 y \ud800\u0041 z"}]}`, true},
		{"utf8 text", `{"model":"m","messages":[{"role":"user","content":"héllo wörld €😀"}]}`, true},
		{"numbers", `{"model":"m",` + msgs + `,"max_tokens":100,"max_completion_tokens":0,"n":1,"seed":-5,` +
			`"temperature":0.7,"top_p":1e-1,"presence_penalty":-2,"frequency_penalty":1.5E+0}`, true},
		{"stop string", `{"model":"m",` + msgs + `,"stop":"END"}`, true},
		{"stop array with null", `{"model":"m",` + msgs + `,"stop":["a",null,"b"]}`, true},
		{"tool choice modes", `{"model":"m",` + msgs + `,"tool_choice":"required"}`, true},
		{"tool choice function", `{"model":"m",` + msgs + `,"tool_choice":{"type":"function","x":[1],"function":{"name":"f","y":{}}}}`, true},
		{"tool calls", `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"c1",` +
			`"type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},null,{"function":null}]},` +
			`{"role":"tool","tool_call_id":"c1","content":"ok","name":"f","refusal":"no"}]}`, true},
		{"tools", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":"f","description":"d",` +
			`"parameters":{"type":"object","properties":{"a":{"type":["string","null"]}}},"strict":true}},` +
			`{"type":"function","function":{"name":"g","parameters":null,"strict":null}},null,{"function":null}]}`, true},
		{"extra members", `{"model":"m",` + msgs + `,"metadata":{"a":[1,2,{"b":null}]},"top_k": 5 ,"store":true,` +
			`"logit_bias":{"50256":-100},"-":1,"Extra":"x","stream_options":{"include_usage":true,"z":0}}`, true},
		{"response format", `{"model":"m",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}}`, true},
		{"escaped key", `{"mod\u0065l":"m",` + msgs + `,"ext\u0072a":1}`, true},
		// Left to encoding/json.
		{"case-folded key", `{"Model":"m",` + msgs + `}`, false},
		{"case-folded nested key", `{"model":"m","messages":[{"ROLE":"user","content":"hi"}]}`, false},
		{"kelvin sign folds to k", `{"model":"m",` + msgs + `,"top_\u212a":1}`, false},
		{"duplicate known key", `{"model":"a","model":"b",` + msgs + `}`, false},
		{"duplicate extra key", `{"model":"m",` + msgs + `,"x":1,"x":2}`, false},
		{"invalid utf8", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\xffb\"}]}", false},
		{"float max_tokens", `{"model":"m",` + msgs + `,"max_tokens":1.5}`, false},
		{"string max_tokens", `{"model":"m",` + msgs + `,"max_tokens":"5"}`, false},
		{"object arguments", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":{}}}]}]}`, false},
		{"bad tool choice", `{"model":"m",` + msgs + `,"tool_choice":"sometimes"}`, false},
		{"tool choice without name", `{"model":"m",` + msgs + `,"tool_choice":{"type":"function"}}`, false},
		{"number content", `{"model":"m","messages":[{"role":"user","content":5}]}`, false},
		{"trailing garbage", `{"model":"m",` + msgs + `} x`, false},
		{"trailing comma", `{"model":"m",` + msgs + `,}`, false},
		{"control character", "{\"model\":\"m\\u0000\",\"messages\":[{\"role\":\"user\",\"content\":\"a\tb\"}]}", false},
		{"not an object", `[1]`, false},
		{"null body", `null`, false},
		{"huge float", `{"model":"m",` + msgs + `,"temperature":1e400}`, false},
		{"deep extra", `{"model":"m",` + msgs + `,"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.body)
			var fast ChatRequest
			ok := decodeChatRequest(raw, &fast)
			if ok != tt.fast {
				t.Fatalf("single-pass decoder took it: %v, want %v", ok, tt.fast)
			}
			ref, refErr := reflectDecode(raw)
			if ok && (refErr != nil || !reflect.DeepEqual(&fast, ref)) {
				t.Fatalf("decoded differently (reference error %v):\nfast %+v\nref  %+v", refErr, fast, *ref)
			}
			got, err := ParseChatRequest(raw)
			want, wantErr := oldParseChatRequest(raw)
			if !reflect.DeepEqual(err, wantErr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("ParseChatRequest = %+v, %v; the reflection decoder gives %+v, %v", got, err, want, wantErr)
			}
		})
	}
}

// oldParseChatRequest is ParseChatRequest with the reflection decoder only.
func oldParseChatRequest(raw []byte) (*ChatRequest, error) {
	r, err := reflectDecode(raw)
	if err != nil {
		return nil, Errorf(400, ErrInvalidRequest, "invalid request body: %s", jsonErrorText(err))
	}
	return checkChatRequest(r)
}

// TestChatRequestUnmarshalJSON checks that json.Unmarshal into a ChatRequest
// (which uses the single-pass decoder) keeps its result and its errors.
func TestChatRequestUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name, body string
	}{
		{"fast", `{"model":"m","messages":[],"x":{"y":1}}`},
		{"fallback", `{"Model":"m","messages":[]}`},
		{"type error", `{"model":1}`},
		{"syntax error", `{"model":"m",}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got ChatRequest
			err := json.Unmarshal([]byte(tt.body), &got)
			want, wantErr := reflectDecode([]byte(tt.body))
			if !reflect.DeepEqual(err, wantErr) || (err == nil && !reflect.DeepEqual(&got, want)) {
				t.Fatalf("Unmarshal = %+v, %v; want %+v, %v", got, err, *want, wantErr)
			}
		})
	}
}
