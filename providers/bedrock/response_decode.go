package bedrock

import "github.com/switchyard-ai/switchyard/providers/schema"

// decodeConverse decodes a Converse response in one pass, without
// reflection (schema.Reader). It gives up (false) on anything it does not
// decode exactly as json.Unmarshal into converseResponse would: a wrong
// type, a repeated or case-folded key, invalid UTF-8. The caller then uses
// json.Unmarshal, which also reports invalid bodies.
func decodeConverse(body []byte, cr *converseResponse) bool {
	r := schema.NewReader(body)
	return members(r, []string{"output", "stopReason", "usage"}, func(i int) bool {
		switch i {
		case 0:
			return members(r, []string{"message"}, func(int) bool { return decodeMessage(r, cr) })
		case 1:
			return r.String(&cr.StopReason)
		}
		u := &cr.Usage
		fields := []*int{&u.InputTokens, &u.OutputTokens, &u.TotalTokens, &u.CacheReadInputTokens, &u.CacheWriteInputTokens}
		return members(r, []string{"inputTokens", "outputTokens", "totalTokens", "cacheReadInputTokens",
			"cacheWriteInputTokens"}, func(i int) bool { return r.Int(fields[i]) })
	}) && r.End()
}

// decodeMessage decodes output.message.
func decodeMessage(r *schema.Reader, cr *converseResponse) bool {
	if r.Null() {
		return true
	}
	m := &converseMessage{}
	cr.Output.Message = m
	return members(r, []string{"role", "content"}, func(i int) bool {
		if i == 0 {
			return r.String(&m.Role)
		}
		if r.Null() {
			return true
		}
		m.Content = []converseBlock{}
		return r.Array(func() bool {
			m.Content = append(m.Content, converseBlock{})
			return decodeBlock(r, &m.Content[len(m.Content)-1])
		})
	})
}

// decodeBlock decodes one content block of the output message, or null.
func decodeBlock(r *schema.Reader, b *converseBlock) bool {
	if r.Null() {
		return true
	}
	return members(r, []string{"text", "toolUse", "reasoningContent"}, func(i int) bool {
		switch i {
		case 0:
			if r.Null() {
				return true
			}
			b.Text = new(string)
			return r.String(b.Text)
		case 2:
			v, ok := r.Raw()
			b.ReasoningContent = v
			return ok
		}
		if r.Null() {
			return true
		}
		tu := &toolUseBlock{}
		b.ToolUse = tu
		return members(r, []string{"toolUseId", "name", "input"}, func(i int) bool {
			switch i {
			case 0:
				return r.String(&tu.ToolUseID)
			case 1:
				return r.String(&tu.Name)
			}
			v, ok := r.Raw()
			tu.Input = v
			return ok
		})
	})
}

// members reads an object or null (no members), calling member with the
// index in names of each key that is one of them; other members are
// skipped, unless encoding/json would fold their key into a name, or a name
// repeats (encoding/json would merge the two values).
func members(r *schema.Reader, names []string, member func(i int) bool) bool {
	if r.Null() {
		return true
	}
	var seen uint32
	return r.Object(func(key string) bool {
		for i, n := range names {
			if key == n {
				if seen&(1<<i) != 0 {
					return false
				}
				seen |= 1 << i
				return member(i)
			}
		}
		return !schema.Folds(key, names...) && r.Skip()
	})
}
