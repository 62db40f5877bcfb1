package schema

// messageFields are Message's JSON names, for the case-folding check.
var messageFields = []string{"role", "content", "name", "tool_calls", "tool_call_id", "refusal"}

// list reads an array of T into dst, each element with one, or null (a nil
// slice). capacity sizes the slice before the first element.
func list[T any](d *decoder, dst *[]T, capacity int, one func(*T) bool) bool {
	if d.null() {
		*dst = nil
		return true
	}
	out := make([]T, 0, capacity)
	ok := d.array(func() bool {
		var zero T
		out = append(out, zero)
		return one(&out[len(out)-1])
	})
	*dst = out
	return ok
}

// messages reads the messages array or null (nil). A null element is a zero
// Message, as encoding/json leaves it.
func (d *decoder) messages(dst *[]Message) bool { return list(d, dst, 4, d.message) }

// message reads one message object or null.
func (d *decoder) message(m *Message) bool {
	if d.null() {
		return true
	}
	var mask uint32
	return d.object(func(key string) bool {
		switch key {
		case "role":
			return seen(&mask, 1) && d.role(&m.Role)
		case "content":
			return seen(&mask, 2) && d.content(&m.Content)
		case "name":
			return seen(&mask, 4) && d.stringInto(&m.Name)
		case "tool_calls":
			return seen(&mask, 8) && d.toolCalls(&m.ToolCalls)
		case "tool_call_id":
			return seen(&mask, 16) && d.stringInto(&m.ToolCallID)
		case "refusal":
			return seen(&mask, 32) && d.stringInto(&m.Refusal)
		}
		return !folds(key, messageFields...) && d.skip()
	})
}

// role reads a role string, without allocating for the known roles.
func (d *decoder) role(dst *string) bool {
	if !d.stringInto(dst) {
		return false
	}
	switch *dst {
	case RoleSystem:
		*dst = RoleSystem
	case RoleUser:
		*dst = RoleUser
	case RoleAssistant:
		*dst = RoleAssistant
	case RoleTool:
		*dst = RoleTool
	case RoleDeveloper:
		*dst = RoleDeveloper
	}
	return true
}

// content reads a message content as Content.UnmarshalJSON: a string, an
// array of parts (never nil, even empty) or null.
func (d *decoder) content(c *Content) bool {
	*c = Content{}
	switch d.peek() {
	case 'n':
		c.IsNull = true
		return d.null()
	case '"':
		s, ok := d.str()
		c.Text = s
		return ok
	case '[':
		c.IsParts = true
		c.Parts = []ContentPart{}
		return d.array(func() bool {
			c.Parts = append(c.Parts, ContentPart{})
			return d.part(&c.Parts[len(c.Parts)-1])
		})
	}
	return false
}

// part reads one content part or null.
func (d *decoder) part(p *ContentPart) bool {
	if d.null() {
		return true
	}
	var mask uint32
	return d.object(func(key string) bool {
		switch key {
		case "type":
			if !seen(&mask, 1) || !d.stringInto(&p.Type) {
				return false
			}
			switch p.Type {
			case PartText:
				p.Type = PartText
			case PartImageURL:
				p.Type = PartImageURL
			}
			return true
		case "text":
			return seen(&mask, 2) && d.stringInto(&p.Text)
		case "image_url":
			return seen(&mask, 4) && d.imageURL(&p.ImageURL)
		}
		return !folds(key, "type", "text", "image_url") && d.skip()
	})
}

// imageURL reads an image_url object or null (nil).
func (d *decoder) imageURL(dst **ImageURL) bool {
	if d.null() {
		*dst = nil
		return true
	}
	u := &ImageURL{}
	*dst = u
	var mask uint32
	return d.object(func(key string) bool {
		switch key {
		case "url":
			return seen(&mask, 1) && d.stringInto(&u.URL)
		case "detail":
			return seen(&mask, 2) && d.stringInto(&u.Detail)
		}
		return !folds(key, "url", "detail") && d.skip()
	})
}

// toolCalls reads an assistant message's tool_calls or null (nil).
func (d *decoder) toolCalls(dst *[]ToolCall) bool { return list(d, dst, 0, d.toolCall) }

// toolCall reads one tool call or null.
func (d *decoder) toolCall(tc *ToolCall) bool {
	if d.null() {
		return true
	}
	var mask uint32
	return d.object(func(key string) bool {
		switch key {
		case "index":
			return seen(&mask, 1) && d.intPtr(&tc.Index)
		case "id":
			return seen(&mask, 2) && d.stringInto(&tc.ID)
		case "type":
			return seen(&mask, 4) && d.stringInto(&tc.Type)
		case "function":
			if !seen(&mask, 8) {
				return false
			}
			if d.null() {
				return true
			}
			var fmask uint32
			return d.object(func(key string) bool {
				switch key {
				case "name":
					return seen(&fmask, 1) && d.stringInto(&tc.Function.Name)
				case "arguments":
					return seen(&fmask, 2) && d.stringInto(&tc.Function.Arguments)
				}
				return !folds(key, "name", "arguments") && d.skip()
			})
		}
		return !folds(key, "index", "id", "type", "function") && d.skip()
	})
}

// tools reads the tools array or null (nil).
func (d *decoder) tools(dst *[]Tool) bool { return list(d, dst, 0, d.tool) }

// tool reads one tool definition or null.
func (d *decoder) tool(t *Tool) bool {
	if d.null() {
		return true
	}
	var mask uint32
	return d.object(func(key string) bool {
		switch key {
		case "type":
			return seen(&mask, 1) && d.stringInto(&t.Type)
		case "function":
			if !seen(&mask, 2) {
				return false
			}
			if d.null() {
				return true
			}
			return d.functionDef(&t.Function)
		}
		return !folds(key, "type", "function") && d.skip()
	})
}

// functionDef reads a tool's function object.
func (d *decoder) functionDef(f *FunctionDef) bool {
	var mask uint32
	return d.object(func(key string) bool {
		switch key {
		case "name":
			return seen(&mask, 1) && d.stringInto(&f.Name)
		case "description":
			return seen(&mask, 2) && d.stringInto(&f.Description)
		case "parameters":
			if !seen(&mask, 4) {
				return false
			}
			v, ok := d.raw()
			f.Parameters = v
			return ok
		case "strict":
			if !seen(&mask, 8) {
				return false
			}
			if d.null() {
				f.Strict = nil
				return true
			}
			v, ok := d.boolean()
			f.Strict = &v
			return ok
		}
		return !folds(key, "name", "description", "parameters", "strict") && d.skip()
	})
}
