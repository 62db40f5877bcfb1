package tokens

import (
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// CountChatJSON counts a chat request's prompt tokens as [Counter.CountChat]
// does, reading the request's JSON body in place instead of its decoded
// form: admission counts every metered request's prompt, and the passthrough
// path decodes nothing else (a full decode cost more than the cached count).
// ok is false when body is not a JSON object with a messages array.
func (c *Counter) CountChatJSON(body []byte) (n int, ok bool) {
	doc := gjson.Parse(unsafe.String(unsafe.SliceData(body), len(body)))
	if !doc.IsObject() {
		return 0, false
	}
	var model string
	var msgs, tools gjson.Result
	doc.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			model = text(v)
		case "messages":
			msgs = v
		case "tools":
			tools = v
		}
		return true
	})
	if !msgs.IsArray() {
		return 0, false
	}
	msgs.ForEach(func(_, m gjson.Result) bool {
		n += PerMessage
		m.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "role", "refusal", "tool_call_id":
				n += c.Count(model, text(v))
			case "content":
				n += c.countContentJSON(model, v)
			case "name":
				if name := text(v); name != "" {
					n += c.Count(model, name) + PerName
				}
			case "tool_calls":
				v.ForEach(func(_, tc gjson.Result) bool {
					n += c.Count(model, text(tc.Get("function.name"))) + c.Count(model, text(tc.Get("function.arguments")))
					return true
				})
			}
			return true
		})
		return true
	})
	n += ReplyPriming
	tools.ForEach(func(_, t gjson.Result) bool {
		f := t.Get("function")
		n += c.Count(model, text(f.Get("name"))) + c.Count(model, text(f.Get("description")))
		if p := f.Get("parameters"); p.Exists() && p.Type != gjson.Null {
			n += c.Count(model, compactJSON([]byte(p.Raw)))
		}
		return true
	})
	return n, true
}

// countContentJSON counts a message content: a string, or an array of parts.
func (c *Counter) countContentJSON(model string, ct gjson.Result) int {
	if !ct.IsArray() {
		return c.Count(model, text(ct))
	}
	n := 0
	ct.ForEach(func(_, p gjson.Result) bool {
		switch p.Get("type").Str {
		case schema.PartText:
			n += c.Count(model, text(p.Get("text")))
		case schema.PartImageURL:
			if p.Get("image_url.detail").Str == "low" {
				n += ImageLowDetail
			} else {
				n += ImageEstimate
			}
		}
		return true
	})
	return n
}

// text returns a JSON string's value ("" for anything else); a string with
// no escapes is a view of the body, not a copy.
func text(r gjson.Result) string {
	if r.Type != gjson.String {
		return ""
	}
	return r.Str
}
