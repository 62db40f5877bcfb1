package sim

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestToolCalls(t *testing.T) {
	a := NewAdapter(counter)
	weather := schema.Tool{Type: "function", Function: schema.FunctionDef{Name: "get_weather",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},` +
			`"unit":{"type":"string","enum":["c","f"]},"days":{"type":"integer"},"hourly":{"type":"boolean"}},` +
			`"required":["city","unit","days","hourly"]}`)}}
	noParams := schema.Tool{Type: "function", Function: schema.FunctionDef{Name: "now"}}
	tests := []struct {
		name     string
		tools    []schema.Tool
		choice   *schema.ToolChoice
		lastRole string
		wantName string // "" means no tool call
		wantArgs map[string]any
	}{
		{"required params", []schema.Tool{weather}, nil, schema.RoleUser, "get_weather",
			map[string]any{"city": "sim", "unit": "c", "days": 0.0, "hourly": false}},
		{"no params", []schema.Tool{noParams, weather}, &schema.ToolChoice{Mode: "auto"}, schema.RoleUser, "now", map[string]any{}},
		{"named choice", []schema.Tool{noParams, weather}, &schema.ToolChoice{Mode: "function", Function: "get_weather"},
			schema.RoleUser, "get_weather", map[string]any{"city": "sim", "unit": "c", "days": 0.0, "hourly": false}},
		{"choice none", []schema.Tool{weather}, &schema.ToolChoice{Mode: "none"}, schema.RoleUser, "", nil},
		{"after tool result", []schema.Tool{weather}, nil, schema.RoleTool, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := userChat("gpt-4o", "weather?")
			req.Tools, req.ToolChoice = tt.tools, tt.choice
			if tt.lastRole == schema.RoleTool {
				req.Messages = append(req.Messages, schema.Message{Role: schema.RoleTool, ToolCallID: "c1",
					Content: schema.TextContent("sunny")})
			}
			// non-streamed
			resp, u := doChat(t, a, config.SimConfig{}, req)
			c := resp.Choices[0]
			if tt.wantName == "" {
				if len(c.Message.ToolCalls) != 0 || c.FinishReason != schema.FinishStop {
					t.Fatalf("unexpected tool call %+v finish %s", c.Message.ToolCalls, c.FinishReason)
				}
				return
			}
			if c.FinishReason != schema.FinishToolCalls || len(c.Message.ToolCalls) != 1 || !c.Message.Content.IsNull {
				t.Fatalf("choice %+v", c)
			}
			call := c.Message.ToolCalls[0]
			checkCall(t, call.Function.Name, call.Function.Arguments, tt.wantName, tt.wantArgs)
			if call.ID == "" || call.Type != "function" {
				t.Errorf("call id %q type %q", call.ID, call.Type)
			}
			wantTokens := counter.Count("gpt-4o", call.Function.Name) + counter.Count("gpt-4o", call.Function.Arguments)
			if u.CompletionTokens != wantTokens {
				t.Errorf("completion tokens %d, want %d", u.CompletionTokens, wantTokens)
			}

			// streamed: reassemble the deltas.
			chunks, _, err := streamChat(context.Background(), t, a, config.SimConfig{}, req, nil)
			if err != nil {
				t.Fatal(err)
			}
			var name, args, id, finish string
			argChunks := 0
			for _, ch := range chunks {
				if len(ch.chunk.Choices) == 0 {
					continue
				}
				cc := ch.chunk.Choices[0]
				if cc.FinishReason != nil {
					finish = *cc.FinishReason
				}
				for _, tc := range cc.Delta.ToolCalls {
					if tc.Index == nil || *tc.Index != 0 {
						t.Errorf("tool call delta without index 0: %+v", tc)
					}
					name += tc.Function.Name
					id += tc.ID
					args += tc.Function.Arguments
					argChunks++
				}
			}
			if finish != schema.FinishToolCalls || id != call.ID || argChunks < 2 {
				t.Errorf("finish %q id %q (want %q), %d argument chunks", finish, id, call.ID, argChunks)
			}
			checkCall(t, name, args, tt.wantName, tt.wantArgs)
		})
	}
}

func checkCall(t *testing.T, name, args, wantName string, wantArgs map[string]any) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal([]byte(args), &got); err != nil {
		t.Fatalf("arguments %q are not JSON: %v", args, err)
	}
	if name != wantName || !reflect.DeepEqual(got, wantArgs) {
		t.Errorf("call %s(%s), want %s(%v)", name, args, wantName, wantArgs)
	}
}

func TestMinimalArgs(t *testing.T) {
	tests := []struct {
		name, params, want string
	}{
		{"none", ``, `{}`},
		{"invalid", `{`, `{}`},
		{"no required", `{"type":"object","properties":{"a":{"type":"string"}}}`, `{}`},
		{"required string", `{"properties":{"q":{"type":"string"}},"required":["q"]}`, `{"q":"sim"}`},
		{"nullable type list", `{"properties":{"n":{"type":["null","number"]}},"required":["n"]}`, `{"n":0}`},
		{"undeclared required", `{"required":["x","x"]}`, `{"x":"sim"}`},
		{"array and object", `{"properties":{"a":{"type":"array"},"o":{"type":"object"}},"required":["a","o"]}`,
			`{"a":[],"o":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := minimalArgs(json.RawMessage(tt.params)); got != tt.want {
				t.Errorf("minimalArgs = %s, want %s", got, tt.want)
			}
		})
	}
}
