package tokens

import (
	"bytes"
	"encoding/json"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Token overheads of OpenAI's chat format (as in OpenAI's cookbook
// "How to count tokens with tiktoken" for gpt-3.5-turbo-0613 and later).
const (
	// PerMessage is added for every message (<|start|>{role}\n ... <|end|>).
	PerMessage = 3
	// PerName is added when a message has a name.
	PerName = 1
	// ReplyPriming is added once: every reply is primed with <|start|>assistant<|message|>.
	ReplyPriming = 3
	// ImageLowDetail is what an image costs with detail "low" (a fixed 85 tokens).
	ImageLowDetail = 85
	// ImageEstimate is the estimate for an image with detail "high" or "auto", whose
	// real cost depends on its size (85 + 170 per 512px tile): we assume a
	// 1024x1024 image, 4 tiles, without fetching or decoding it.
	ImageEstimate = 85 + 4*170
)

// CountChat returns the prompt tokens of a chat request, by OpenAI's
// accounting: for each message 3 tokens plus its role, its content (text parts;
// images count ImageLowDetail or ImageEstimate), its refusal and tool calls
// (function name and arguments), and its name plus 1; then 3 tokens of reply
// priming. Tool definitions add the tokens of each function's name,
// description and parameters JSON: an estimate, since OpenAI renders them in an
// undocumented format. A nil request counts 0.
func (c *Counter) CountChat(req *schema.ChatRequest) int {
	if req == nil {
		return 0
	}
	model := req.Model
	n := 0
	for i := range req.Messages {
		m := &req.Messages[i]
		n += PerMessage + c.Count(model, m.Role) + c.countContent(model, &m.Content)
		if m.Name != "" {
			n += c.Count(model, m.Name) + PerName
		}
		if m.Refusal != "" {
			n += c.Count(model, m.Refusal)
		}
		for _, tc := range m.ToolCalls {
			n += c.Count(model, tc.Function.Name) + c.Count(model, tc.Function.Arguments)
		}
		if m.ToolCallID != "" {
			n += c.Count(model, m.ToolCallID)
		}
	}
	n += ReplyPriming
	for _, t := range req.Tools {
		n += c.Count(model, t.Function.Name) + c.Count(model, t.Function.Description)
		n += c.Count(model, compactJSON(t.Function.Parameters))
	}
	return n
}

// countContent counts a message content's text and images.
func (c *Counter) countContent(model string, ct *schema.Content) int {
	if !ct.IsParts {
		return c.Count(model, ct.Text)
	}
	n := 0
	for _, p := range ct.Parts {
		switch p.Type {
		case schema.PartText:
			n += c.Count(model, p.Text)
		case schema.PartImageURL:
			if p.ImageURL != nil && p.ImageURL.Detail == "low" {
				n += ImageLowDetail
			} else {
				n += ImageEstimate
			}
		}
	}
	return n
}

// compactJSON returns raw without insignificant whitespace (raw itself if it is
// not valid JSON).
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}
