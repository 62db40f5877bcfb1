package schema

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestAppendJSON checks the append writers against json.Marshal.
func TestAppendJSON(t *testing.T) {
	strs := []string{"", "plain", `q"b\s/`, "\b\f\n\r\t\x00\x1f\x7f", "<a href='x'>&amp;</a>", "é€😀",
		"bad \xff\xfe utf8 \xe2\x82", "line\u2028para\u2029", "\xed\xa0\x80 surrogate",
		"a long plain run of text, then <tags> & \"quotes\" at odd offsets\n, then more plain text after é"}
	for _, s := range strs {
		t.Run("string "+s, func(t *testing.T) { checkString(t, s) })
	}
	floats := []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789e15, math.MaxFloat64,
		math.SmallestNonzeroFloat64, 0.7, 2.5e-300}
	for _, f := range floats {
		want, _ := json.Marshal(f)
		if got := AppendFloat(nil, f); !bytes.Equal(got, want) {
			t.Errorf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	raws := []string{`null`, `{}`, ` { "a" : [ 1 , 2 ] , "b<" : "x > y & z" } `, "[\"\u2028\", \"\\\"<\\\\\"]",
		"{\n\t\"k\": \"v \\u0041\"\r\n}", `"\\"`, `-1.5e3`, `true`}
	for _, r := range raws {
		checkRaw(t, []byte(r))
	}
}

func checkString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
	}
}

func checkRaw(t *testing.T, raw []byte) {
	t.Helper()
	want, err := json.Marshal(json.RawMessage(raw))
	if err != nil {
		return // not valid JSON: AppendRaw is not asked about it
	}
	if got := AppendRaw(nil, raw); !bytes.Equal(got, want) {
		t.Fatalf("AppendRaw(%q) = %s, want %s", raw, got, want)
	}
}

// FuzzAppendJSON compares AppendString and AppendRaw with json.Marshal.
func FuzzAppendJSON(f *testing.F) {
	f.Add("<a>&\u2028\xff", []byte(` {"a" : ["<", 1.5e-3, "\u2029"]} `))
	f.Add("\x00\"\\", []byte(`"\\\"x"`))
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		checkString(t, s)
		checkRaw(t, raw)
	})
}

// TestAppendChatResponse checks AppendChatResponse against json.Marshal.
func TestAppendChatResponse(t *testing.T) {
	idx := 2
	full := Message{Role: RoleAssistant, Content: Content{IsParts: true, Parts: []ContentPart{
		{Type: PartText, Text: "a<b>"}, {Type: PartImageURL, ImageURL: &ImageURL{URL: "u", Detail: "low"}},
		{Type: PartImageURL, ImageURL: &ImageURL{}}, {}}},
		Name: "n", ToolCallID: "id", Refusal: "no", ToolCalls: []ToolCall{
			{Index: &idx, ID: "c1", Type: "function", Function: FunctionCall{Name: "f", Arguments: `{"a":"<1>"}`}},
			{}, {ID: "c2"}, {Function: FunctionCall{Name: "g"}}}}
	tests := []struct {
		name string
		r    ChatResponse
	}{
		{"zero", ChatResponse{}},
		{"text", ChatResponse{ID: "chatcmpl-1", Object: "chat.completion", Created: 1730000000, Model: "m",
			Choices: []Choice{{Message: Message{Role: RoleAssistant, Content: TextContent("Hello \"you\"\n")},
				FinishReason: FinishStop}}, Usage: &Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}}},
		{"null content", ChatResponse{Choices: []Choice{{Message: Message{Content: Content{IsNull: true}}}},
			Usage: &Usage{PromptTokensDetails: &PromptTokensDetails{CachedTokens: 4}}}},
		{"empty parts", ChatResponse{Choices: []Choice{{Message: Message{Content: Content{IsParts: true}}}, {Index: 1}}}},
		{"everything", ChatResponse{ID: "x", Created: -1, Choices: []Choice{{Index: 3, Message: full, FinishReason: FinishToolCalls}},
			Usage: &Usage{TotalTokens: 9, PromptTokensDetails: &PromptTokensDetails{CachedTokens: 1, CacheWriteTokens: 2},
				CompletionTokensDetails: &CompletionTokensDetails{ReasoningTokens: 5}}, SystemFingerprint: "fp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if got := AppendChatResponse(nil, &tt.r); !bytes.Equal(got, want) {
				t.Fatalf("\ngot  %s\nwant %s", got, want)
			}
		})
	}
}
