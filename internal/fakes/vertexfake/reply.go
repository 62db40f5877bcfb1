package vertexfake

import (
	"encoding/json"
	"strings"
)

// reply is the deterministic answer planned for a request.
type reply struct {
	text         string       // the text answer (when call is nil)
	call         *plannedCall // a function call to make
	finish       string       // STOP or MAX_TOKENS
	promptTokens int
	outTokens    int
	magic        string // MagicError or MagicRateLimit when asked
}

type plannedCall struct {
	name string
	args map[string]any
}

// planGemini decides the answer to a checked GenerateContentRequest.
func planGemini(req *gRequest) *reply {
	rep := &reply{finish: "STOP"}
	all := append(systemContent(req.SystemInstruction), req.Contents...)
	for _, c := range all {
		for _, p := range c.Parts {
			if p.Text != nil {
				rep.promptTokens += countWords(*p.Text)
			} else {
				rep.promptTokens++
			}
		}
	}
	last := req.Contents[len(req.Contents)-1]
	var userText, fnName string
	var fnResp map[string]any
	if last.Role == "user" {
		for _, p := range last.Parts {
			switch {
			case p.Text != nil:
				userText = strings.TrimSpace(userText + " " + *p.Text)
			case p.FunctionResponse != nil:
				fnName, fnResp = p.FunctionResponse.Name, p.FunctionResponse.Response
			}
		}
	}
	rep.magic = magicIn(userText)
	mode := ""
	if req.ToolConfig != nil {
		mode = req.ToolConfig.FunctionCallingConfig.Mode
	}
	switch {
	case fnName != "":
		b, _ := json.Marshal(fnResp)
		rep.text = "The tool " + fnName + " returned " + string(b) + "."
	case userText != "" && mode != "NONE" && hasDeclarations(req.Tools):
		rep.call = chooseCall(req)
		rep.outTokens = 5
		return rep
	case userText != "":
		rep.text = "You said: " + userText
	default:
		rep.text = "Hello from vertexfake."
	}
	words := splitWords(rep.text)
	if gc := req.GenerationConfig; gc != nil && gc.MaxOutputTokens != nil && *gc.MaxOutputTokens < len(words) {
		rep.text = strings.TrimSpace(strings.Join(words[:*gc.MaxOutputTokens], ""))
		rep.finish = "MAX_TOKENS"
		words = words[:*gc.MaxOutputTokens]
	}
	rep.outTokens = len(words)
	return rep
}

func systemContent(c *gContent) []gContent {
	if c == nil {
		return nil
	}
	return []gContent{*c}
}

func hasDeclarations(tools []gTool) bool {
	for _, t := range tools {
		if len(t.FunctionDeclarations) > 0 {
			return true
		}
	}
	return false
}

// chooseCall picks the allowed (else first) function and fills its required arguments.
func chooseCall(req *gRequest) *plannedCall {
	want := ""
	if req.ToolConfig != nil && len(req.ToolConfig.FunctionCallingConfig.AllowedFunctionNames) > 0 {
		want = req.ToolConfig.FunctionCallingConfig.AllowedFunctionNames[0]
	}
	for _, t := range req.Tools {
		for _, d := range t.FunctionDeclarations {
			if want == "" || d.Name == want {
				return &plannedCall{name: d.Name, args: sampleArgs(d.Parameters)}
			}
		}
	}
	return &plannedCall{name: want, args: map[string]any{}}
}

// sampleArgs fills a schema's required properties with sample values.
func sampleArgs(s *gSchema) map[string]any {
	args := map[string]any{}
	if s == nil {
		return args
	}
	for _, name := range s.Required {
		args[name] = sampleValue(s.Properties[name])
	}
	return args
}

func sampleValue(s *gSchema) any {
	if s == nil {
		return nil
	}
	switch s.Type {
	case "STRING":
		if len(s.Enum) > 0 {
			return s.Enum[0]
		}
		return "Paris"
	case "INTEGER", "NUMBER":
		return 1
	case "BOOLEAN":
		return true
	case "ARRAY":
		return []any{}
	case "OBJECT":
		return sampleArgs(s)
	}
	return nil
}

// response builds one GenerateContentResponse carrying text (or the call);
// final adds the finish reason and full usage.
func (r *reply) response(model, id, text string, final bool) map[string]any {
	var parts []any
	if r.call != nil {
		parts = []any{map[string]any{"functionCall": map[string]any{"name": r.call.name, "args": r.call.args}}}
	} else {
		parts = []any{map[string]any{"text": text}}
	}
	cand := map[string]any{"content": map[string]any{"role": "model", "parts": parts}, "index": 0}
	usage := map[string]any{"promptTokenCount": r.promptTokens, "totalTokenCount": r.promptTokens}
	if final {
		cand["finishReason"] = r.finish
		usage = map[string]any{"promptTokenCount": r.promptTokens, "candidatesTokenCount": r.outTokens,
			"totalTokenCount": r.promptTokens + r.outTokens}
	}
	return map[string]any{"candidates": []any{cand}, "usageMetadata": usage, "modelVersion": model, "responseId": id}
}

func magicIn(text string) string {
	for _, m := range []string{MagicError, MagicRateLimit} {
		if strings.Contains(text, m) {
			return m
		}
	}
	return ""
}

func countWords(s string) int { return len(strings.Fields(s)) }
