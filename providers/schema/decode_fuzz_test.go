package schema

import (
	"reflect"
	"testing"
)

// FuzzDecodeChatRequest checks the single-pass decoder against encoding/json:
// whatever body it takes, the reflection decoder takes too and decodes to
// the same request; and ParseChatRequest answers as the reflection decoder
// does, whichever decoder served it.
func FuzzDecodeChatRequest(f *testing.F) {
	for _, b := range goldenBodies(f) {
		f.Add(b)
	}
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"a\u00e9\ud83d\ude00\n"}],"stop":["x",null]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},null]}],"tool_choice":{"function":{"name":"f"}}}`,
		`{"model":"m","messages":null,"max_tokens":-0,"temperature":-0.0e-0,"x":[true,false,null,{}]}`,
		`{"Model":"m","messages":[{"Role":"user"}],"x":1,"x":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast ChatRequest
		ok := decodeChatRequest(raw, &fast)
		ref, refErr := reflectDecode(raw)
		if ok {
			if refErr != nil {
				t.Fatalf("single-pass decoder took a body encoding/json refuses (%v): %q", refErr, raw)
			}
			if !reflect.DeepEqual(&fast, ref) {
				t.Fatalf("decoded differently from encoding/json: %q\nfast %+v\nref  %+v", raw, fast, *ref)
			}
		}
		got, err := ParseChatRequest(raw)
		want, wantErr := oldParseChatRequest(raw)
		if !reflect.DeepEqual(err, wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseChatRequest(%q) = %+v, %v; want %+v, %v", raw, got, err, want, wantErr)
		}
	})
}
