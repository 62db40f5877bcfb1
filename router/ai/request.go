package ai

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// MaxDepth is the deepest JSON nesting a request body may have.
const MaxDepth = 64

// reqInfo is what the front end reads from a request body.
type reqInfo struct {
	model  string
	stream bool
	// maxTokens is max_completion_tokens, else max_tokens (0: neither is a
	// positive integer).
	maxTokens int
	// options is the raw top-level stream_options value (nil: absent);
	// optionsKnown is false when it was not recorded, and a translator must
	// look it up itself (inspect records it for every body it accepts: a
	// repeated stream_options is refused).
	options      []byte
	optionsKnown bool
}

// bstr views b as a string without copying; the string must not outlive b.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Inspect checks a request body cheaply (size, UTF-8, JSON syntax, nesting,
// top-level keys that encoding/json would read differently (keys.go), and
// the types of the fields the operation needs) and returns its model and
// stream flag. It never decodes the whole body. The model is copied.
func Inspect(body []byte, op schema.Operation, maxBytes int) (model string, stream bool, err *schema.Error) {
	ri, e := inspect(body, op, maxBytes)
	return ri.model, ri.stream, e
}

func inspect(body []byte, op schema.Operation, maxBytes int) (reqInfo, *schema.Error) {
	switch {
	case len(body) == 0:
		return reqInfo{}, badRequest("", "the request body is empty: send a JSON object")
	case maxBytes > 0 && len(body) > maxBytes:
		return reqInfo{}, tooLarge(maxBytes)
	}
	// One pass validates the body and finds the members; a body it rejects
	// (rare: invalid input) takes the slow path, which names the problem.
	sc, ok := scanBody(body, keysFor(op), MaxDepth)
	if !ok {
		return inspectSlow(body, op)
	}
	var ri reqInfo
	if e := sc.kc.err(sc.keys); e != nil {
		return ri, e
	}
	var e *schema.Error
	if ri.model, e = modelOf(spanResult(sc.model)); e != nil {
		return ri, e
	}
	switch {
	case !sc.stream.ok, string(sc.stream.raw) == "false", string(sc.stream.raw) == "null":
	case string(sc.stream.raw) == "true":
		ri.stream = true
	default:
		return ri, badRequest("stream", "stream must be a boolean")
	}
	ri.options, ri.optionsKnown = sc.options.raw, true
	ri.maxTokens = maxTokensOf(sc.maxCompletion.raw, sc.maxTokens.raw)
	switch op {
	case schema.OpChat:
		if e := shapeError(sc.msgs); e != nil {
			return ri, e
		}
	case schema.OpEmbeddings:
		if e := inputError(ri.stream, spanResult(sc.input)); e != nil {
			return ri, e
		}
	}
	return ri, nil
}

// modelOf returns a copy of the model member's string, or why it is not one.
func modelOf(model gjson.Result) (string, *schema.Error) {
	switch model.Type {
	case gjson.String:
		if model.Str == "" {
			return "", badRequest("model", "you must provide a model parameter")
		}
		return strings.Clone(model.Str), nil
	case gjson.Null:
		return "", badRequest("model", "you must provide a model parameter")
	default:
		return "", badRequest("model", "model must be a string")
	}
}

// spanResult parses a member's raw value (a zero Result when absent).
func spanResult(s span) gjson.Result {
	if !s.ok {
		return gjson.Result{}
	}
	if len(s.raw) > 1 && s.raw[0] == '"' && bytes.IndexByte(s.raw, '\\') < 0 {
		return gjson.Result{Type: gjson.String, Raw: bstr(s.raw), Str: bstr(s.raw[1 : len(s.raw)-1])}
	}
	return gjson.Parse(bstr(s.raw))
}

// shapeError is checkMessages on what the scan recorded.
func shapeError(m msgShape) *schema.Error {
	switch {
	case !m.present || m.null:
		return badRequest("messages", "you must provide a messages parameter")
	case !m.array:
		return badRequest("messages", "messages must be an array")
	case m.bad == badNotObject:
		return badRequest("messages["+strconv.Itoa(m.n)+"]", "each message must be an object")
	case m.bad == badKey:
		return m.keys.messageErr(m.n)
	case m.bad == badRole:
		return badRequest("messages["+strconv.Itoa(m.n)+"].role", "each message must have a string role")
	case m.n == 0:
		return badRequest("messages", "messages must be a non-empty array")
	}
	return nil
}

func inputError(stream bool, input gjson.Result) *schema.Error {
	if stream {
		return badRequest("stream", "embeddings cannot be streamed")
	}
	if !(input.Type == gjson.String && input.Str != "") && !(input.IsArray() && len(input.Raw) > 2 && !isEmptyArray(input.Raw)) {
		return badRequest("input", "input must be a non-empty string or array")
	}
	return nil
}

// inspectSlow is inspect with a separate check per property (UTF-8, syntax,
// depth) and gjson lookups: it names what is wrong with a body the scan
// rejected.
func inspectSlow(body []byte, op schema.Operation) (reqInfo, *schema.Error) {
	var ri reqInfo
	switch {
	case !utf8.Valid(body):
		return ri, badRequest("", "the request body is not valid UTF-8")
	case !gjson.ValidBytes(body):
		return ri, badRequest("", "we could not parse the JSON body of your request: send valid JSON")
	case !depthOK(body, MaxDepth):
		return ri, badRequest("", "the JSON body is nested deeper than "+strconv.Itoa(MaxDepth)+" levels")
	}
	root := gjson.Parse(bstr(body))
	if !root.IsObject() {
		return ri, badRequest("", "the request body must be a JSON object")
	}
	keys := keysFor(op)
	var kc keyCheck
	var model, stream, messages, input, options, maxTok, maxCompl gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		i, exact := keys.lookup(k.Str)
		if i < 0 || !kc.see(i, exact, k.Str) {
			return true
		}
		switch keys.roles[i] {
		case roleModel:
			model = v
		case roleStream:
			stream = v
		case roleMessages:
			messages = v
		case roleInput:
			input = v
		case roleOptions:
			options = v
		case roleMaxTokens:
			maxTok = v
		case roleMaxCompletion:
			maxCompl = v
		}
		return true
	})
	ri.maxTokens = maxTokensOf([]byte(maxCompl.Raw), []byte(maxTok.Raw))
	if e := kc.err(keys); e != nil {
		return ri, e
	}
	var e *schema.Error
	if ri.model, e = modelOf(model); e != nil {
		return ri, e
	}
	switch stream.Type {
	case gjson.True:
		ri.stream = true
	case gjson.False, gjson.Null:
	default:
		return ri, badRequest("stream", "stream must be a boolean")
	}
	if options.Exists() { // a view of body (Index is the value's offset)
		ri.options = body[options.Index : options.Index+len(options.Raw)]
	}
	ri.optionsKnown = true
	switch op {
	case schema.OpChat:
		if e := checkMessages(messages); e != nil {
			return ri, e
		}
	case schema.OpEmbeddings:
		if e := inputError(ri.stream, input); e != nil {
			return ri, e
		}
	}
	return ri, nil
}

func isEmptyArray(raw string) bool { return strings.TrimSpace(raw[1:len(raw)-1]) == "" }

// checkMessages checks that messages is a non-empty array of objects with a string role.
func checkMessages(messages gjson.Result) *schema.Error {
	if !messages.Exists() || messages.Type == gjson.Null {
		return badRequest("messages", "you must provide a messages parameter")
	}
	if !messages.IsArray() {
		return badRequest("messages", "messages must be an array")
	}
	var e *schema.Error
	n := 0
	messages.ForEach(func(_, m gjson.Result) bool {
		if !m.IsObject() {
			e = badRequest("messages["+strconv.Itoa(n)+"]", "each message must be an object")
			return false
		}
		var kc keyCheck
		m.ForEach(func(k, _ gjson.Result) bool {
			if i, exact := messageKeys.lookup(k.Str); i >= 0 {
				kc.see(i, exact, k.Str)
			}
			return kc.bad == 0
		})
		if e = kc.messageErr(n); e != nil {
			return false
		}
		if r := m.Get("role"); r.Type != gjson.String || r.Str == "" {
			e = badRequest("messages["+strconv.Itoa(n)+"].role", "each message must have a string role")
			return false
		}
		n++
		return true
	})
	if e == nil && n == 0 {
		e = badRequest("messages", "messages must be a non-empty array")
	}
	return e
}

// depthOK reports whether the JSON in b nests at most max arrays/objects deep.
// b must be valid JSON.
func depthOK(b []byte, max int) bool {
	depth, inStr := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > max {
				return false
			}
		case '}', ']':
			depth--
		}
	}
	return true
}

// SetModel returns body with its model set to model (a new slice; body is
// not changed). It returns body itself when the model is already model.
func SetModel(body []byte, current, model string) ([]byte, error) {
	if current == model {
		return body, nil
	}
	return sjson.SetBytes(body, "model", model)
}

func badRequest(param, msg string) *schema.Error {
	return &schema.Error{Status: fasthttp.StatusBadRequest, Type: schema.ErrInvalidRequest, Param: param, Message: msg}
}

func tooLarge(maxBytes int) *schema.Error {
	return &schema.Error{Status: fasthttp.StatusRequestEntityTooLarge, Type: schema.ErrInvalidRequest,
		Message: "the request body is larger than " + strconv.Itoa(maxBytes) + " bytes"}
}

func modelNotFound(model string) *schema.Error {
	return &schema.Error{Status: fasthttp.StatusNotFound, Type: schema.ErrInvalidRequest, Param: "model", Code: "model_not_found",
		Message: "The model `" + model + "` does not exist or you do not have access to it."}
}

// writeError writes e in OpenAI's shape.
func writeError(ctx *fasthttp.RequestCtx, e *schema.Error) {
	status := e.Status
	if status < 400 || status > 599 {
		status = fasthttp.StatusInternalServerError
	}
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	if e.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	ctx.SetBody(e.JSON())
}

// maxTokensOf reads the request's output cap from the raw values of
// max_completion_tokens and max_tokens (the first wins): 0 when neither is a
// positive integer. The upstream judges a bad value; policies only use it to
// size a reservation.
func maxTokensOf(completion, tokens []byte) int {
	for _, raw := range [2][]byte{completion, tokens} {
		if n := positiveInt(raw); n > 0 {
			return n
		}
	}
	return 0
}

// positiveInt parses a JSON number that is a plain positive integer (no sign,
// fraction or exponent) below a billion, with no allocation; 0 otherwise.
func positiveInt(raw []byte) int {
	if len(raw) == 0 || len(raw) > 9 {
		return 0
	}
	n := 0
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
