package openai

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tidwall/gjson"
)

// usageCases are answers whose usage lookup must equal gjson's.
var usageCases = []struct {
	name string
	body string
	fast bool // the fast path answers (no gjson walk)
}{
	{name: "OpenAI shape, usage before system_fingerprint", fast: true,
		body: `{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"hi","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":12,"total_tokens":37,"prompt_tokens_details":{"cached_tokens":3}},"system_fingerprint":"fp_x"}`},
	{name: "usage last", fast: true, body: `{"a":1,"usage":{"prompt_tokens":1,"completion_tokens":2}}`},
	{name: "pretty-printed", fast: true,
		body: "{\n  \"choices\": [],\n  \"usage\" : {\n    \"total_tokens\": 9\n  },\n  \"x\": [1, {\"y\": \"}\"}]\n}\n"},
	{name: "usage null", fast: true, body: `{"a":1,"usage":null}`},
	{name: "no usage", fast: true, body: `{"choices":[{"message":{"content":"hello"}}]}`},
	{name: "no usage, escapes", body: `{"choices":[{"message":{"content":"caf\u00e9"}}]}`},
	{name: "key spelt with an escape", body: `{"\u0075sage":{"total_tokens":4}}`},
	{name: "nested usage after the top-level one", body: `{"usage":{"total_tokens":4},"x":{"usage":{"total_tokens":5}}}`},
	{name: "only a nested usage", body: `{"choices":[{"usage":{"total_tokens":5}}],"id":"c"}`},
	{name: "usage inside a string", fast: true,
		body: `{"usage":{"total_tokens":4},"content":"say \"usage\":{\"total_tokens\":7}"}`},
	{name: "key ending in an escaped quote", body: `{"usage":{"total_tokens":4},"a\"usage":{"total_tokens":8}}`},
	{name: "strings with braces and escaped backslashes", fast: true,
		body: `{"usage":{"total_tokens":4},"s":"}]\\","t":"\\\"}"}`},
	{name: "not an object", body: `["usage",{"usage":1}]`},
	{name: "truncated", body: `{"usage":{"total_tokens":4},"s":"abc`},
	{name: "usage is also a string value", body: `{"a":"usage","usage":{"total_tokens":3}}`},
	{name: "empty", fast: true, body: ``},
	{name: "duplicate top-level usage: gjson takes the first", body: `{"usage":{"total_tokens":1},"usage":{"total_tokens":2}}`},
	{name: "Responses API names", fast: true,
		body: `{"usage":{"input_tokens":3,"output_tokens":4,"input_tokens_details":{"cached_tokens":1},"output_tokens_details":{"reasoning_tokens":2}}}`},
	{name: "details null and empty", fast: true,
		body: `{"usage":{"prompt_tokens":3,"prompt_tokens_details":null,"completion_tokens_details":{}}}`},
	{name: "cached_tokens null", fast: true, body: `{"usage":{"prompt_tokens_details":{"cached_tokens":null}}}`},
	{name: "numbers as strings and floats", fast: true,
		body: `{"usage":{"prompt_tokens":"12","completion_tokens":2.9,"total_tokens":-1}}`},
	{name: "duplicate members: ForEach's last, Get's first", fast: true,
		body: `{"usage":{"prompt_tokens":1,"prompt_tokens":2,"prompt_tokens_details":{"cached_tokens":5,"cached_tokens":6}}}`},
	{name: "escaped key inside usage", fast: true, body: `{"usage":{"prompt_\u0074okens":7}}`},
	{name: "usage not an object", fast: true, body: `{"usage":[1,2]}`},
	{name: "no total: prompt + completion", fast: true, body: `{"usage":{"prompt_tokens":5,"completion_tokens":6}}`},
}

func TestResponseUsageMatchesGJSON(t *testing.T) {
	for _, tc := range usageCases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			want := gjson.Get(tc.body, "usage")
			if got := responseUsage(body); !reflect.DeepEqual(got, UsageOf(want)) {
				t.Fatalf("responseUsage = %s, UsageOf(gjson) = %s", show(got), show(UsageOf(want)))
			}
			j, ok := usageStart(body)
			if ok && j >= 0 {
				end := skipValue(body, j)
				ok = end >= 0 && closesRoot(body, end)
				if ok && string(body[j:end]) != want.Raw {
					t.Errorf("usage found = %q, gjson = %q", body[j:end], want.Raw)
				}
			}
			if ok != tc.fast {
				t.Errorf("fast lookup answered %t, want %t", ok, tc.fast)
			}
		})
	}
}

func show(u any) string { b, _ := json.Marshal(u); return string(b) }

// FuzzResponseUsage checks the fast paths against gjson on valid JSON.
func FuzzResponseUsage(f *testing.F) {
	for _, tc := range usageCases {
		f.Add(tc.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if !json.Valid([]byte(body)) {
			return
		}
		got, want := responseUsage([]byte(body)), UsageOf(gjson.Get(body, "usage"))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: responseUsage %s, UsageOf(gjson) %s", body, show(got), show(want))
		}
	})
}
