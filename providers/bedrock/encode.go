package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// appendConverse appends cr as json.Marshal writes it (same members, order
// and escaping; TestAppendConverseMatchesMarshal checks it byte for byte),
// without reflection.
func appendConverse(dst []byte, cr *converseRequest) []byte {
	dst = append(dst, `{"messages":`...)
	if cr.Messages == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range cr.Messages {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendMessage(dst, &cr.Messages[i])
		}
		dst = append(dst, ']')
	}
	if len(cr.System) > 0 {
		dst = append(dst, `,"system":[`...)
		for i, s := range cr.System {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"text":`...)
			dst = schema.AppendString(dst, s.Text)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if ic := cr.InferenceConfig; ic != nil {
		dst = appendInferenceConfig(append(dst, `,"inferenceConfig":`...), ic)
	}
	if tc := cr.ToolConfig; tc != nil {
		dst = appendToolConfig(append(dst, `,"toolConfig":`...), tc)
	}
	dst = appendRawMember(dst, `,"additionalModelRequestFields":`, cr.AdditionalModelRequestFields)
	dst = appendRawMember(dst, `,"additionalModelResponseFieldPaths":`, cr.AdditionalModelResponseFieldPaths)
	dst = appendRawMember(dst, `,"guardrailConfig":`, cr.GuardrailConfig)
	dst = appendRawMember(dst, `,"performanceConfig":`, cr.PerformanceConfig)
	dst = appendRawMember(dst, `,"requestMetadata":`, cr.RequestMetadata)
	return append(dst, '}')
}

// appendRawMember appends an omitempty raw member (prefix is `,"name":`).
func appendRawMember(dst []byte, prefix string, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return dst
	}
	return schema.AppendRaw(append(dst, prefix...), raw)
}

// comma appends the separator before an object's member, unless it is the first.
func comma(dst []byte) []byte {
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	return dst
}

func appendMessage(dst []byte, m *message) []byte {
	dst = append(dst, `{"role":`...)
	dst = schema.AppendString(dst, m.Role)
	dst = append(dst, `,"content":`...)
	if m.Content == nil {
		return append(dst, "null}"...)
	}
	dst = append(dst, '[')
	for i := range m.Content {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendBlock(dst, &m.Content[i])
	}
	return append(dst, "]}"...)
}

// appendBlock writes a content block's set members (all are omitempty).
func appendBlock(dst []byte, b *contentBlock) []byte {
	dst = append(dst, '{')
	if b.Text != nil {
		dst = schema.AppendString(append(dst, `"text":`...), *b.Text)
	}
	if img := b.Image; img != nil {
		dst = comma(dst)
		dst = append(dst, `"image":{"format":`...)
		dst = schema.AppendString(dst, img.Format)
		dst = append(dst, `,"source":{"bytes":`...)
		if img.Source.Bytes == nil {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, img.Source.Bytes)
			dst = append(dst, '"')
		}
		dst = append(dst, "}}"...)
	}
	if tu := b.ToolUse; tu != nil {
		dst = comma(dst)
		dst = append(dst, `"toolUse":{"toolUseId":`...)
		dst = schema.AppendString(dst, tu.ToolUseID)
		dst = append(dst, `,"name":`...)
		dst = schema.AppendString(dst, tu.Name)
		dst = schema.AppendRaw(append(dst, `,"input":`...), tu.Input)
		dst = append(dst, '}')
	}
	if tr := b.ToolResult; tr != nil {
		dst = comma(dst)
		dst = appendToolResult(append(dst, `"toolResult":`...), tr)
	}
	return append(dst, '}')
}

func appendToolResult(dst []byte, tr *toolResultBlock) []byte {
	dst = append(dst, `{"toolUseId":`...)
	dst = schema.AppendString(dst, tr.ToolUseID)
	dst = append(dst, `,"content":`...)
	if tr.Content == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, c := range tr.Content {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if c.Text != nil {
				dst = schema.AppendString(append(dst, `"text":`...), *c.Text)
			}
			if len(c.JSON) > 0 {
				dst = schema.AppendRaw(append(comma(dst), `"json":`...), c.JSON)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if tr.Status != "" {
		dst = schema.AppendString(append(dst, `,"status":`...), tr.Status)
	}
	return append(dst, '}')
}

func appendInferenceConfig(dst []byte, ic *inferenceConfig) []byte {
	dst = append(dst, '{')
	if ic.MaxTokens != nil {
		dst = strconv.AppendInt(append(dst, `"maxTokens":`...), int64(*ic.MaxTokens), 10)
	}
	if ic.Temperature != nil {
		dst = comma(dst)
		dst = schema.AppendFloat(append(dst, `"temperature":`...), *ic.Temperature)
	}
	if ic.TopP != nil {
		dst = comma(dst)
		dst = schema.AppendFloat(append(dst, `"topP":`...), *ic.TopP)
	}
	if len(ic.StopSequences) > 0 {
		dst = comma(dst)
		dst = append(dst, `"stopSequences":[`...)
		for i, s := range ic.StopSequences {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = schema.AppendString(dst, s)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func appendToolConfig(dst []byte, tc *toolConfig) []byte {
	dst = append(dst, `{"tools":`...)
	if tc.Tools == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range tc.Tools {
			if i > 0 {
				dst = append(dst, ',')
			}
			ts := &tc.Tools[i].ToolSpec
			dst = append(dst, `{"toolSpec":{"name":`...)
			dst = schema.AppendString(dst, ts.Name)
			if ts.Description != "" {
				dst = schema.AppendString(append(dst, `,"description":`...), ts.Description)
			}
			dst = schema.AppendRaw(append(dst, `,"inputSchema":{"json":`...), ts.InputSchema.JSON)
			dst = append(dst, "}}}"...)
		}
		dst = append(dst, ']')
	}
	if c := tc.ToolChoice; c != nil {
		dst = append(dst, `,"toolChoice":{`...)
		if c.Auto != nil {
			dst = append(dst, `"auto":{}`...)
		}
		if c.Any != nil {
			dst = append(comma(dst), `"any":{}`...)
		}
		if c.Tool != nil {
			dst = append(comma(dst), `"tool":{"name":`...)
			dst = schema.AppendString(dst, c.Tool.Name)
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}
