package bedrock

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// decodeConverse decodes a Converse response with one validation pass and one
// walk (gjson), without reflection. It gives up (false) on anything it does
// not decode exactly as json.Unmarshal into converseResponse would: a wrong
// type, a repeated or case-folded key, an escape it cannot vouch for. The
// caller then uses json.Unmarshal, which also reports invalid bodies.
func decodeConverse(body []byte, cr *converseResponse) bool {
	if !gjson.ValidBytes(body) {
		return false
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return false
	}
	return eachMember(root, []string{"output", "stopReason", "usage"}, func(key string, v gjson.Result) bool {
		switch key {
		case "output":
			return eachMember(v, []string{"message"}, func(_ string, v gjson.Result) bool {
				return decodeMessage(v, cr)
			})
		case "stopReason":
			return str(v, &cr.StopReason)
		case "usage":
			u := &cr.Usage
			return eachMember(v, []string{"inputTokens", "outputTokens", "totalTokens", "cacheReadInputTokens",
				"cacheWriteInputTokens"}, func(key string, v gjson.Result) bool {
				switch key {
				case "inputTokens":
					return integer(v, &u.InputTokens)
				case "outputTokens":
					return integer(v, &u.OutputTokens)
				case "totalTokens":
					return integer(v, &u.TotalTokens)
				case "cacheReadInputTokens":
					return integer(v, &u.CacheReadInputTokens)
				}
				return integer(v, &u.CacheWriteInputTokens)
			})
		}
		return true
	})
}

// decodeMessage decodes output.message.
func decodeMessage(v gjson.Result, cr *converseResponse) bool {
	if v.Type == gjson.Null {
		return true
	}
	m := &converseMessage{}
	cr.Output.Message = m
	return eachMember(v, []string{"role", "content"}, func(key string, v gjson.Result) bool {
		if key == "role" {
			return str(v, &m.Role)
		}
		if v.Type == gjson.Null {
			return true
		}
		if !v.IsArray() {
			return false
		}
		ok := true
		m.Content = []converseBlock{}
		v.ForEach(func(_, v gjson.Result) bool {
			m.Content = append(m.Content, converseBlock{})
			ok = decodeBlock(v, &m.Content[len(m.Content)-1])
			return ok
		})
		return ok
	})
}

// decodeBlock decodes one content block of the output message.
func decodeBlock(v gjson.Result, b *converseBlock) bool {
	if v.Type == gjson.Null {
		return true
	}
	return eachMember(v, []string{"text", "toolUse", "reasoningContent"}, func(key string, v gjson.Result) bool {
		switch key {
		case "text":
			if v.Type == gjson.Null {
				return true
			}
			var s string
			b.Text = &s
			return str(v, &s)
		case "reasoningContent":
			b.ReasoningContent = json.RawMessage(v.Raw)
			return true
		}
		if v.Type == gjson.Null {
			return true
		}
		tu := &toolUseBlock{}
		b.ToolUse = tu
		return eachMember(v, []string{"toolUseId", "name", "input"}, func(key string, v gjson.Result) bool {
			switch key {
			case "toolUseId":
				return str(v, &tu.ToolUseID)
			case "name":
				return str(v, &tu.Name)
			}
			tu.Input = json.RawMessage(v.Raw)
			return true
		})
	})
}

// eachMember calls member for each member of object v whose key is one of
// names (null v has none); other keys are skipped, unless json.Unmarshal
// would match them to a name by folding case, or a name repeats.
func eachMember(v gjson.Result, names []string, member func(key string, v gjson.Result) bool) bool {
	if v.Type == gjson.Null {
		return true
	}
	if !v.IsObject() {
		return false
	}
	ok := true
	var seen uint32
	v.ForEach(func(k, v gjson.Result) bool {
		key := k.Str
		if strings.IndexByte(k.Raw, '\\') >= 0 {
			ok = false // an escaped key: leave it to encoding/json
			return false
		}
		for i, n := range names {
			if key == n {
				if seen&(1<<i) != 0 {
					ok = false
					return false
				}
				seen |= 1 << i
				ok = member(key, v)
				return ok
			}
		}
		for _, n := range names {
			if strings.EqualFold(key, n) || !isASCII(key) {
				ok = false
				return false
			}
		}
		return true
	})
	return ok
}

// str reads a string or null (which leaves *dst as it is). Escaped strings
// are left to encoding/json (gjson and encoding/json differ on lone
// surrogates), as is invalid UTF-8.
func str(v gjson.Result, dst *string) bool {
	switch v.Type {
	case gjson.Null:
		return true
	case gjson.String:
		if strings.IndexByte(v.Raw, '\\') >= 0 && strings.Contains(strings.ToLower(v.Raw), `\ud`) {
			return false
		}
		if !utf8.ValidString(v.Str) {
			return false
		}
		*dst = v.Str
		return true
	}
	return false
}

// integer reads a number encoding/json stores in an int, or null.
func integer(v gjson.Result, dst *int) bool {
	switch v.Type {
	case gjson.Null:
		return true
	case gjson.Number:
		n, err := strconv.ParseInt(v.Raw, 10, 64)
		*dst = int(n)
		return err == nil
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
