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
	enc := c.in(model)
	msgs.ForEach(func(_, m gjson.Result) bool {
		n += enc.countMessageJSON(m)
		return true
	})
	n += ReplyPriming
	tools.ForEach(func(_, t gjson.Result) bool {
		f := t.Get("function")
		n += enc.count(text(f.Get("name"))) + enc.count(text(f.Get("description")))
		if p := f.Get("parameters"); p.Exists() && p.Type != gjson.Null {
			n += enc.count(compactJSON([]byte(p.Raw)))
		}
		return true
	})
	return n, true
}

// countMessageJSON counts one message of a chat's messages array, cached by
// the message's raw JSON: a conversation resends its whole history on every
// turn, so all but the newest messages are found whole, without reading
// their members.
func (enc encoding) countMessageJSON(m gjson.Result) int {
	key, cached := enc.messageKey(m.Raw)
	if cached {
		if n, ok := enc.c.cache.get(key); ok {
			return n
		}
	}
	n := PerMessage
	m.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "role", "refusal", "tool_call_id":
			n += enc.count(text(v))
		case "content":
			n += enc.countContentJSON(v)
		case "name":
			if name := text(v); name != "" {
				n += enc.count(name) + PerName
			}
		case "tool_calls":
			v.ForEach(func(_, tc gjson.Result) bool {
				n += enc.count(text(tc.Get("function.name"))) + enc.count(text(tc.Get("function.arguments")))
				return true
			})
		}
		return true
	})
	if cached {
		enc.c.cache.put(key, n)
	}
	return n
}

// countContentJSON counts a message content: a string, or an array of parts.
func (enc encoding) countContentJSON(ct gjson.Result) int {
	if !ct.IsArray() {
		return enc.count(text(ct))
	}
	n := 0
	ct.ForEach(func(_, p gjson.Result) bool {
		switch p.Get("type").Str {
		case schema.PartText:
			n += enc.count(text(p.Get("text")))
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
