package openai

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Response implements [providers.Translator.Response]: a 2xx body is passed
// through unchanged and its usage read; any other status becomes an
// *schema.Error with the same status. When the gateway signed the request
// with its own key, a 401 or 403 gets a generic message: the upstream's may
// quote that key (OpenAI's "Incorrect API key provided: sk-...wxyz").
func (t *Translator) Response(status int, body []byte) ([]byte, schema.Usage, error) {
	if status < 200 || status > 299 {
		e := MapError(status, body)
		if (status == http.StatusUnauthorized || status == http.StatusForbidden) && !t.backend.Auth.Passthrough {
			e.Message, e.Param = genericMessage(status), ""
		}
		return nil, schema.Usage{}, e
	}
	return body, responseUsage(body), nil
}

// UsageOf reads an OpenAI usage object (prompt, completion and total tokens,
// cached prompt tokens and reasoning tokens). A missing or null usage is zero.
func UsageOf(u gjson.Result) schema.Usage {
	if !u.IsObject() {
		return schema.Usage{}
	}
	var out schema.Usage
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens", "input_tokens":
			out.PromptTokens = int(v.Int())
		case "completion_tokens", "output_tokens":
			out.CompletionTokens = int(v.Int())
		case "total_tokens":
			out.TotalTokens = int(v.Int())
		case "prompt_tokens_details", "input_tokens_details":
			if c := v.Get("cached_tokens"); c.Exists() {
				out.PromptTokensDetails = &schema.PromptTokensDetails{CachedTokens: int(c.Int())}
			}
		case "completion_tokens_details", "output_tokens_details":
			if r := v.Get("reasoning_tokens"); r.Exists() {
				out.CompletionTokensDetails = &schema.CompletionTokensDetails{ReasoningTokens: int(r.Int())}
			}
		}
		return true
	})
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	return out
}

// MapError maps a non-2xx upstream response to an *schema.Error with the same
// status. An OpenAI error JSON keeps its message, type, param and code; any
// other body (HTML, text) gets a generic message and is never echoed.
func MapError(status int, body []byte) *schema.Error {
	if status < 400 || status > 599 {
		// Redirects and informational codes are not something a client can use.
		return &schema.Error{Status: http.StatusBadGateway, Type: schema.ErrServer,
			Message: "the upstream provider returned an unexpected status " + http.StatusText(status)}
	}
	e := &schema.Error{Status: status, Type: schema.TypeForStatus(status)}
	if gjson.ValidBytes(body) {
		r := gjson.GetBytes(body, "error")
		if r.Type == gjson.String { // {"error":"text"} (some local servers)
			e.Message = r.Str
		} else if r.IsObject() {
			e.Message = r.Get("message").String()
			if typ := r.Get("type").String(); typ != "" {
				e.Type = typ
			}
			e.Param = r.Get("param").String()
			if c := r.Get("code"); c.Exists() && c.Type != gjson.Null {
				e.Code = c.String()
			}
		}
	}
	if e.Message == "" {
		e.Message = genericMessage(status)
	}
	return e
}

func genericMessage(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "the upstream provider rejected the gateway's credentials"
	case status == http.StatusForbidden:
		return "the upstream provider denied access"
	case status == http.StatusNotFound:
		return "the upstream provider did not find the requested resource"
	case status == http.StatusTooManyRequests:
		return "the upstream provider is rate limiting requests; retry later"
	case status >= 500:
		return "the upstream provider failed to answer (" + http.StatusText(status) + ")"
	}
	return "the upstream provider rejected the request (" + http.StatusText(status) + ")"
}
