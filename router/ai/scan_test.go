package ai

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// scanCorpus are bodies on which the one-pass inspect must agree with the
// slow, gjson-based one (same model, stream flag and error).
var scanCorpus = []string{
	`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
	`  {"model" : "m" , "stream" : true , "messages" : [ {"role":"user"} ] }  `,
	`{"model":"m","stream":false,"messages":[{"role":"user"}]}`,
	`{"model":"m","stream":null,"messages":[{"role":"user"}]}`,
	`{"model":"m","stream":"yes","messages":[{"role":"user"}]}`,
	`{"model":"m","stream":1,"messages":[{"role":"user"}]}`,
	`{"model":"a","model":"b","messages":[{"role":"user"}]}`,
	`{"mod\u0065l":"esc","messages":[{"role":"user"}]}`,
	`{"model":"caf\u00e9 \"q\"","messages":[{"role":"user"}]}`,
	`{"model":"日本語","messages":[{"role":"user","content":"ünïcödé ✓"}]}`,
	`{"model":"","messages":[{"role":"user"}]}`,
	`{"model":null,"messages":[{"role":"user"}]}`,
	`{"model":5,"messages":[{"role":"user"}]}`,
	`{"model":{"a":1},"messages":[{"role":"user"}]}`,
	`{"messages":[{"role":"user"}]}`,
	`{"model":"m"}`,
	`{"model":"m","messages":null}`,
	`{"model":"m","messages":{}}`,
	`{"model":"m","messages":"x"}`,
	`{"model":"m","messages":[]}`,
	`{"model":"m","messages":[ ]}`,
	`{"model":"m","messages":["hi"]}`,
	`{"model":"m","messages":[{"role":"user"},"hi",{"content":1}]}`,
	`{"model":"m","messages":[{"content":"hi"}]}`,
	`{"model":"m","messages":[{"role":1}]}`,
	`{"model":"m","messages":[{"role":""}]}`,
	`{"model":"m","messages":[{"role":"a","role":""}]}`,
	`{"model":"m","messages":[{"role":"","role":"a"}]}`,
	`{"model":"m","messages":[{"r\u006fle":"user"}]}`,
	`{"model":"m","messages":[{"x":{"role":"user"}}]}`,
	`{"model":"m","messages":[{"role":"user"}],"messages":[1]}`,
	`{"model":"m","messages":[1],"messages":[{"role":"user"}]}`,
	`{"model":"m","messages":[{"role":"user"}],"temperature":-0.5e+3,"n":0,"x":[true,false,null,1.25E2]}`,
	`{"model":"m","messages":[{"role":"user"}],"x":01}`,
	`{"model":"m","messages":[{"role":"user"}],"x":1.}`,
	`{"model":"m","messages":[{"role":"user"}],"x":-}`,
	`{"model":"m","messages":[{"role":"user"}],"x":.5}`,
	`{"model":"m","messages":[{"role":"user"}],"x":1e}`,
	`{"model":"m","messages":[{"role":"user"}],"x":tru}`,
	`{"model":"m","messages":[{"role":"user"}],}`,
	`{"model":"m","messages":[{"role":"user"},]}`,
	`{"model":"m" "messages":[]}`,
	`{"model":"m","messages":[{"role":"user"}]} x`,
	`{"model":"m","messages":[{"role":"user"}]}}`,
	`{"model":"m\x01","messages":[{"role":"user"}]}`,
	`{"model":"m\q","messages":[{"role":"user"}]}`,
	`{"model":"m\u12","messages":[{"role":"user"}]}`,
	"{\"model\":\"m\xff\",\"messages\":[{\"role\":\"user\"}]}",
	"{\"model\":\"m\xed\xa0\x80\",\"messages\":[{\"role\":\"user\"}]}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}\xff",
	`{"model":"m`,
	`{"model":`,
	`{`,
	`[1,2]`,
	`"hello"`,
	`null`,
	`{"model":"m","messages":[{"role":"user"}],"x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`,
	`{"model":"m","messages":[{"role":"user"}],"x":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`,
	`{"model":"m","messages":[{"role":"user"}],"x":` + strings.Repeat(`{"a":`, 63) + `1` + strings.Repeat("}", 63) + `}`,
	`{"model":"m","messages":[{"role":"user"}],"x":` + strings.Repeat(`{"a":`, 64) + `1` + strings.Repeat("}", 64) + `}`,
	`{"model":"m","input":"x"}`,
	`{"model":"m","input":""}`,
	`{"model":"m","input":[]}`,
	`{"model":"m","input":[ ]}`,
	`{"model":"m","input":["a"]}`,
	`{"model":"m","input":5}`,
	`{"model":"m","stream":true,"input":"x"}`,
	`{"model":"m","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"x"}]}`,
	`{"model":"m","stream":true,"stream_options":null,"messages":[{"role":"user","content":"x"}]}`,
	`{"stream_options":{"include_usage":true},"model":"m","stream":true,"stream_options":{},"messages":[]}`,
	`{"model":"m","stream_options" : { "include_usage" : true } ,"messages":[{"role":"user","content":"x"}]}`,
	`{"model":"m","Stream":true,"messages":[{"role":"user"}]}`,
	`{"model":"m","Str\u0065am":true,"messages":[{"role":"user"}]}`,
	`{"model":"m","ſtream":true,"messages":[{"role":"user"}]}`,
	`{"model":"m","messages":[{"role":"user"}],"max_to\u212aens":1}`,
	`{"model":"m","messages":[{"role":"user"}],"temperature":1,"temperature":2}`,
	`{"model":"m","messages":[{"role":"user"}],"Messages":[]}`,
	`{"model":"m","input":"x","Input":"y"}`,
	`{"model":"m","prompt":"x","PROMPT":"y"}`,
	`{"model":"m","messages":[{"role":"user","Stream":true}],"metadata":{"Model":"x"},"streams":1}`,
	`{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat(`long text \" with \\ escapes \n and ünïcode `, 200) + `"}]}`,
}

func TestInspectMatchesSlowPath(t *testing.T) {
	for _, op := range []schema.Operation{schema.OpChat, schema.OpEmbeddings, schema.OpCompletion} {
		for i, body := range scanCorpus {
			t.Run(fmt.Sprintf("op%d/%02d", op, i), func(t *testing.T) {
				checkAgainstSlow(t, []byte(body), op)
			})
		}
	}
}

func checkAgainstSlow(t *testing.T, body []byte, op schema.Operation) {
	t.Helper()
	got, gerr := inspect(body, op, 0)
	want, werr := inspectSlow(body, op)
	if got.model != want.model || got.stream != want.stream || got.optionsKnown != want.optionsKnown ||
		!bytes.Equal(got.options, want.options) || (got.options == nil) != (want.options == nil) {
		t.Fatalf("%q: got %+v, want %+v", body, got, want)
	}
	if (gerr == nil) != (werr == nil) || gerr != nil && (gerr.Param != werr.Param || gerr.Message != werr.Message) {
		t.Fatalf("%q: got error %v, want %v", body, gerr, werr)
	}
}

// FuzzInspect checks the one-pass inspect against the slow path on any
// input, and its verdict on top-level keys against encoding/json's reading.
func FuzzInspect(f *testing.F) {
	for _, b := range scanCorpus {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) == 0 {
			return
		}
		for _, op := range []schema.Operation{schema.OpChat, schema.OpEmbeddings, schema.OpCompletion} {
			checkAgainstSlow(t, body, op)
			checkDecoderAgrees(t, body, op)
		}
	})
}
