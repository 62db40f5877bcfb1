package vertexfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The request types mirror GenerateContentRequest; decoding rejects unknown
// fields as Google does ("Invalid JSON payload received. Unknown name ...").
type gRequest struct {
	Contents          []gContent       `json:"contents"`
	SystemInstruction *gContent        `json:"systemInstruction"`
	Tools             []gTool          `json:"tools"`
	ToolConfig        *gToolConfig     `json:"toolConfig"`
	GenerationConfig  *gGenConfig      `json:"generationConfig"`
	SafetySettings    []map[string]any `json:"safetySettings"`
	CachedContent     string           `json:"cachedContent"`
	Labels            map[string]any   `json:"labels"`
}

type gContent struct {
	Role  string  `json:"role"`
	Parts []gPart `json:"parts"`
}

type gPart struct {
	Text             *string `json:"text"`
	Thought          bool    `json:"thought"`
	ThoughtSignature string  `json:"thoughtSignature"`
	InlineData       *struct {
		MimeType string `json:"mimeType"`
		Data     string `json:"data"`
	} `json:"inlineData"`
	FileData *struct {
		MimeType string `json:"mimeType"`
		FileURI  string `json:"fileUri"`
	} `json:"fileData"`
	FunctionCall *struct {
		Name string         `json:"name"`
		Args map[string]any `json:"args"`
	} `json:"functionCall"`
	FunctionResponse *struct {
		Name     string         `json:"name"`
		Response map[string]any `json:"response"`
	} `json:"functionResponse"`
}

type gTool struct {
	FunctionDeclarations []struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Parameters  *gSchema `json:"parameters"`
	} `json:"functionDeclarations"`
}

// gSchema is the OpenAPI subset Gemini accepts; other keywords are rejected.
type gSchema struct {
	Type             string              `json:"type"`
	Format           string              `json:"format"`
	Title            string              `json:"title"`
	Description      string              `json:"description"`
	Nullable         bool                `json:"nullable"`
	Enum             []string            `json:"enum"`
	Items            *gSchema            `json:"items"`
	Properties       map[string]*gSchema `json:"properties"`
	Required         []string            `json:"required"`
	AnyOf            []*gSchema          `json:"anyOf"`
	PropertyOrdering []string            `json:"propertyOrdering"`
	MinItems         *json.Number        `json:"minItems"`
	MaxItems         *json.Number        `json:"maxItems"`
	MinProperties    *json.Number        `json:"minProperties"`
	MaxProperties    *json.Number        `json:"maxProperties"`
	MinLength        *json.Number        `json:"minLength"`
	MaxLength        *json.Number        `json:"maxLength"`
	Pattern          string              `json:"pattern"`
	Minimum          *float64            `json:"minimum"`
	Maximum          *float64            `json:"maximum"`
	Default          any                 `json:"default"`
	Example          any                 `json:"example"`
}

type gToolConfig struct {
	FunctionCallingConfig struct {
		Mode                 string   `json:"mode"`
		AllowedFunctionNames []string `json:"allowedFunctionNames"`
	} `json:"functionCallingConfig"`
}

type gGenConfig struct {
	Temperature      *float64       `json:"temperature"`
	TopP             *float64       `json:"topP"`
	TopK             *float64       `json:"topK"`
	CandidateCount   *int           `json:"candidateCount"`
	MaxOutputTokens  *int           `json:"maxOutputTokens"`
	StopSequences    []string       `json:"stopSequences"`
	PresencePenalty  *float64       `json:"presencePenalty"`
	FrequencyPenalty *float64       `json:"frequencyPenalty"`
	Seed             *int64         `json:"seed"`
	ResponseMimeType string         `json:"responseMimeType"`
	ResponseSchema   *gSchema       `json:"responseSchema"`
	ThinkingConfig   map[string]any `json:"thinkingConfig"`
}

var funcName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$`)

// decodeGemini decodes and checks a GenerateContentRequest; the error text is
// the 400 message.
func decodeGemini(body []byte) (*gRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req gRequest
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("invalid JSON payload received: %v", err)
	}
	if len(req.Contents) == 0 {
		return nil, fmt.Errorf("contents is not specified")
	}
	declared := map[string]bool{}
	for _, t := range req.Tools {
		for _, d := range t.FunctionDeclarations {
			if !funcName.MatchString(d.Name) {
				return nil, fmt.Errorf("tools[0].function_declarations: invalid function name %q", d.Name)
			}
			if err := checkSchema(d.Parameters, "parameters"); err != nil {
				return nil, fmt.Errorf("function_declarations[%s].%v", d.Name, err)
			}
			declared[d.Name] = true
		}
	}
	if tc := req.ToolConfig; tc != nil {
		switch tc.FunctionCallingConfig.Mode {
		case "AUTO", "NONE", "ANY", "VALIDATED", "":
		default:
			return nil, fmt.Errorf("invalid value at 'tool_config.function_calling_config.mode' (%s)", tc.FunctionCallingConfig.Mode)
		}
		for _, n := range tc.FunctionCallingConfig.AllowedFunctionNames {
			if !declared[n] {
				return nil, fmt.Errorf("allowed_function_names contains %q, which is not a declared function", n)
			}
		}
	}
	if gc := req.GenerationConfig; gc != nil {
		if err := gc.check(); err != nil {
			return nil, err
		}
	}
	if si := req.SystemInstruction; si != nil {
		for _, p := range si.Parts {
			if p.Text == nil {
				return nil, fmt.Errorf("system_instruction parts must be text")
			}
		}
	}
	for i, c := range req.Contents {
		if err := checkContent(req.Contents, i, c); err != nil {
			return nil, err
		}
	}
	return &req, nil
}

func (gc *gGenConfig) check() error {
	switch {
	case gc.Temperature != nil && (*gc.Temperature < 0 || *gc.Temperature > 2):
		return fmt.Errorf("generation_config.temperature must be in [0, 2]")
	case gc.TopP != nil && (*gc.TopP < 0 || *gc.TopP > 1):
		return fmt.Errorf("generation_config.top_p must be in [0, 1]")
	case gc.CandidateCount != nil && (*gc.CandidateCount < 1 || *gc.CandidateCount > 8):
		return fmt.Errorf("generation_config.candidate_count must be in [1, 8]")
	case gc.MaxOutputTokens != nil && *gc.MaxOutputTokens < 1:
		return fmt.Errorf("generation_config.max_output_tokens must be positive")
	case len(gc.StopSequences) > 5:
		return fmt.Errorf("generation_config.stop_sequences: at most 5")
	case gc.ResponseSchema != nil && gc.ResponseMimeType != "application/json":
		return fmt.Errorf("generation_config.response_schema requires response_mime_type application/json")
	}
	return checkSchema(gc.ResponseSchema, "generation_config.response_schema")
}

func checkSchema(s *gSchema, at string) error {
	if s == nil {
		return nil
	}
	switch s.Type {
	case "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL":
	case "":
		if len(s.AnyOf) == 0 {
			return fmt.Errorf("%s.type: must be specified", at)
		}
	default:
		return fmt.Errorf("%s.type: invalid type %q", at, s.Type)
	}
	if s.Type == "OBJECT" && s.Properties != nil && len(s.Properties) == 0 {
		return fmt.Errorf("%s.properties: should be non-empty for OBJECT type", at)
	}
	if s.Type == "ARRAY" && s.Items == nil {
		return fmt.Errorf("%s.items: missing field", at)
	}
	for _, r := range s.Required {
		if s.Properties[r] == nil {
			return fmt.Errorf("%s.required: property %q is not defined", at, r)
		}
	}
	for name, p := range s.Properties {
		if err := checkSchema(p, at+".properties["+name+"]"); err != nil {
			return err
		}
	}
	for i, a := range s.AnyOf {
		if err := checkSchema(a, fmt.Sprintf("%s.any_of[%d]", at, i)); err != nil {
			return err
		}
	}
	return checkSchema(s.Items, at+".items")
}

// checkContent checks contents[i].
func checkContent(all []gContent, i int, c gContent) error {
	if c.Role != "user" && c.Role != "model" {
		return fmt.Errorf("please use a valid role: user, model. (contents[%d].role %q)", i, c.Role)
	}
	if len(c.Parts) == 0 {
		return fmt.Errorf("contents[%d].parts must not be empty", i)
	}
	calls := 0
	for j, p := range c.Parts {
		n := 0
		if p.Text != nil {
			n++
		}
		if p.InlineData != nil {
			n++
			if p.InlineData.MimeType == "" {
				return fmt.Errorf("contents[%d].parts[%d].inline_data.mime_type is required", i, j)
			}
			if _, err := base64.StdEncoding.DecodeString(p.InlineData.Data); err != nil {
				return fmt.Errorf("contents[%d].parts[%d].inline_data.data: invalid base64", i, j)
			}
		}
		if p.FileData != nil {
			n++
			if p.FileData.MimeType == "" || p.FileData.FileURI == "" {
				return fmt.Errorf("contents[%d].parts[%d].file_data needs mime_type and file_uri", i, j)
			}
		}
		if p.FunctionCall != nil {
			n++
			calls++
			if c.Role != "model" || p.FunctionCall.Name == "" {
				return fmt.Errorf("contents[%d].parts[%d].function_call must be a named call in a model turn", i, j)
			}
		}
		if p.FunctionResponse != nil {
			n++
			if c.Role != "user" || p.FunctionResponse.Name == "" || p.FunctionResponse.Response == nil {
				return fmt.Errorf("contents[%d].parts[%d].function_response must have name and response in a user turn", i, j)
			}
		}
		if n != 1 {
			return fmt.Errorf("contents[%d].parts[%d] must have exactly one data field (text, inline_data, file_data, function_call, function_response)", i, j)
		}
	}
	if calls > 0 && i+1 < len(all) {
		got := 0
		for _, p := range all[i+1].Parts {
			if p.FunctionResponse != nil {
				got++
			}
		}
		if got != calls {
			return fmt.Errorf("please ensure that the number of function response parts is equal to the number of function call parts of the function call turn")
		}
	}
	return nil
}

// serveGemini answers generateContent / streamGenerateContent.
func (s *Server) serveGemini(w http.ResponseWriter, r *http.Request, model, method string, body []byte) {
	if model == "" {
		googleError(w, 404, "NOT_FOUND", "model not found")
		return
	}
	stream := false
	switch method {
	case "generateContent":
	case "streamGenerateContent":
		stream = true
	default:
		googleError(w, 404, "NOT_FOUND", fmt.Sprintf("method %q not found", method))
		return
	}
	req, err := decodeGemini(body)
	if err != nil {
		googleError(w, 400, "INVALID_ARGUMENT", err.Error())
		return
	}
	rep := planGemini(req)
	if rep.magic == MagicRateLimit {
		googleError(w, 429, "RESOURCE_EXHAUSTED", "Resource exhausted. Please try again later.")
		return
	}
	if rep.magic == MagicError && !stream {
		googleError(w, 500, "INTERNAL", "Internal error encountered.")
		return
	}
	id := fmt.Sprintf("vertexfake-%d", s.nextID())
	if !stream {
		writeJSON(w, 200, rep.response(model, id, rep.text, true))
		return
	}
	if r.URL.Query().Get("alt") != "sse" {
		writeJSON(w, 200, []any{rep.response(model, id, rep.text, true)})
		return
	}
	sw := startSSE(w)
	if rep.call != nil {
		sw.event("", rep.response(model, id, "", true))
		return
	}
	words := splitWords(rep.text)
	for i, wd := range words {
		last := i == len(words)-1
		if rep.magic == MagicError && i == 1 {
			sw.event("", map[string]any{"error": map[string]any{"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}})
			return
		}
		sw.event("", rep.response(model, id, wd, last))
	}
}

// splitWords splits text into chunks of one word with its trailing space.
func splitWords(text string) []string {
	var out []string
	for len(text) > 0 {
		i := strings.IndexByte(text, ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}
