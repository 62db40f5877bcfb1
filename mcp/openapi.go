package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/switchyard-ai/switchyard/config"
)

// maxSpecBytes bounds an OpenAPI document; maxAPIAnswerBytes bounds the
// answer of one API call returned as a tool result.
const (
	maxSpecBytes      = 16 << 20
	maxAPIAnswerBytes = 4 << 20
)

// openapiTarget serves an OpenAPI document's operations as tools: a call
// becomes one HTTP request to the API.
type openapiTarget struct {
	name    string
	base    *url.URL
	client  *http.Client
	auth    *config.MCPTargetAuth
	timeout time.Duration
	tools   []json.RawMessage
	ops     map[string]*operation
}

var _ target = (*openapiTarget)(nil)

// operation is one OpenAPI operation as a tool.
type operation struct {
	method, path string
	params       []*openapi3.Parameter
	body         bool // a JSON request body, in the "body" argument
}

// toolName keeps what a tool name may hold.
var toolNameChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// loadSpec reads an OpenAPI document from a file or an http(s) URL.
func loadSpec(ctx context.Context, spec string, client *http.Client) ([]byte, *url.URL, error) {
	if u, err := url.Parse(spec); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, spec, nil)
		if err != nil {
			return nil, nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch the document: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, nil, fmt.Errorf("fetch the document: HTTP %d", resp.StatusCode)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxSpecBytes+1))
		if err != nil {
			return nil, nil, fmt.Errorf("fetch the document: %w", err)
		}
		if len(b) > maxSpecBytes {
			return nil, nil, errors.New("the document is larger than 16 MiB")
		}
		return b, u, nil
	}
	f, err := os.Open(spec)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSpecBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > maxSpecBytes {
		return nil, nil, errors.New("the document is larger than 16 MiB")
	}
	return b, nil, nil
}

// newOpenAPITarget loads the document and makes its tools. Operations it
// cannot express (non-JSON bodies, cookie parameters, huge schemas) are
// skipped with a warning.
func newOpenAPITarget(ctx context.Context, name string, o *config.OpenAPITarget, auth *config.MCPTargetAuth,
	client *http.Client, timeout time.Duration, log *slog.Logger) (*openapiTarget, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	data, specURL, err := []byte(o.Document), (*url.URL)(nil), error(nil)
	if o.Document == "" {
		data, specURL, err = loadSpec(ctx, o.Spec, client)
	}
	if err != nil {
		return nil, fmt.Errorf("mcp: openapi target %s: %w", name, err)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	loader.Context = ctx
	doc, err := loadDoc(loader, data)
	if err != nil {
		return nil, fmt.Errorf("mcp: openapi target %s: not an OpenAPI 3 document: %w", name, err)
	}
	t := &openapiTarget{name: name, client: client, auth: auth, timeout: timeout, ops: map[string]*operation{}}
	if t.base, err = baseURL(o.BaseURL, doc, specURL); err != nil {
		return nil, fmt.Errorf("mcp: openapi target %s: %w", name, err)
	}
	if doc.Paths == nil {
		return t, nil
	}
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, path := range keys {
		item := paths[path]
		methods := item.Operations()
		ms := make([]string, 0, len(methods))
		for m := range methods {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		for _, method := range ms {
			if err := t.addOperation(path, method, item, methods[method]); err != nil {
				log.Warn("mcp: openapi operation skipped", "target", name, "method", method, "path", path, "reason", err.Error())
			}
		}
	}
	return t, nil
}

// loadDoc parses the document, turning a panic of the parser into an error.
func loadDoc(loader *openapi3.Loader, data []byte) (doc *openapi3.T, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("the parser failed: %v", r)
		}
	}()
	doc, err = loader.LoadFromData(data)
	if err == nil && !strings.HasPrefix(doc.OpenAPI, "3.") {
		err = fmt.Errorf("openapi version %q is not 3.x", doc.OpenAPI)
	}
	return doc, err
}

// baseURL is the configured one, else the document's first server (its
// variables at their defaults, resolved against the document's URL).
func baseURL(configured string, doc *openapi3.T, specURL *url.URL) (*url.URL, error) {
	raw := configured
	if raw == "" {
		if len(doc.Servers) == 0 || doc.Servers[0] == nil {
			return nil, errors.New("the document names no server: set openapi.baseURL")
		}
		s := doc.Servers[0]
		raw = s.URL
		for k, v := range s.Variables {
			if v != nil {
				raw = strings.ReplaceAll(raw, "{"+k+"}", v.Default)
			}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	if !u.IsAbs() {
		if specURL == nil {
			return nil, fmt.Errorf("the document's server %q is relative: set openapi.baseURL", raw)
		}
		u = specURL.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("base URL %q is not http(s)", raw)
	}
	return u, nil
}

// addOperation adds one operation's tool, or says why it cannot.
func (t *openapiTarget) addOperation(path, method string, item *openapi3.PathItem, op *openapi3.Operation) error {
	name := op.OperationID
	if name == "" {
		name = strings.ToLower(method) + "_" + path
	}
	name = strings.Trim(toolNameChars.ReplaceAllString(name, "_"), "_")
	if len(name) > 64 {
		name = name[:64]
	}
	if name == "" || t.ops[name] != nil {
		return fmt.Errorf("no usable or unique tool name (%q)", name)
	}
	b := &schemaBuilder{visiting: map[*openapi3.Schema]bool{}}
	props := map[string]any{}
	var required []string
	o := &operation{method: method, path: path}
	params := append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...)
	for _, pr := range params {
		if pr == nil || pr.Value == nil {
			continue
		}
		p := pr.Value
		switch p.In {
		case openapi3.ParameterInPath, openapi3.ParameterInQuery, openapi3.ParameterInHeader:
		default:
			return fmt.Errorf("parameter %q in %s is not supported", p.Name, p.In)
		}
		if p.Schema == nil {
			return fmt.Errorf("parameter %q has no schema", p.Name)
		}
		s := b.build(p.Schema, 1)
		if p.Description != "" {
			s["description"] = p.Description
		}
		props[p.Name] = s
		if p.Required || p.In == openapi3.ParameterInPath {
			required = append(required, p.Name)
		}
		o.params = append(o.params, p)
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		mt := rb.Value.Content.Get("application/json")
		if mt == nil {
			return errors.New("the request body is not application/json")
		}
		if _, clash := props["body"]; clash {
			return errors.New(`a parameter is named "body", which the request body uses`)
		}
		props["body"] = b.build(mt.Schema, 1)
		if rb.Value.Required {
			required = append(required, "body")
		}
		o.body = true
	}
	if b.over() {
		return fmt.Errorf("its schema is larger than %d nodes", maxSchemaNodes)
	}
	schema := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		schema["required"] = required
	}
	desc := op.Summary
	if op.Description != "" {
		desc = strings.TrimSpace(desc + "\n\n" + op.Description)
	}
	tool, err := json.Marshal(map[string]any{"name": name, "description": desc, "inputSchema": schema})
	if err != nil {
		return fmt.Errorf("encode its tool: %w", err)
	}
	t.ops[name] = o
	t.tools = append(t.tools, tool)
	return nil
}

// open implements target: the API keeps no session.
func (t *openapiTarget) open(context.Context, *call) (string, string, error) {
	return "", "", nil
}

// close implements target.
func (t *openapiTarget) close(context.Context, *call) {}

// list implements target.
func (t *openapiTarget) list(_ context.Context, _ *call, kind string) ([]json.RawMessage, error) {
	if kind != kindTools {
		return nil, nil
	}
	return t.tools, nil
}

// notify implements target.
func (t *openapiTarget) notify(context.Context, *call, *message) {}

// stop implements target.
func (t *openapiTarget) stop() {}

// request implements target: tools/call makes the operation's HTTP request.
func (t *openapiTarget) request(ctx context.Context, c *call, m *message, _ bool) (*reply, error) {
	if m.Method != "tools/call" {
		return &reply{err: errorf(codeMethodNotFound, "OpenAPI targets serve tools only")}, nil
	}
	var p struct {
		Name      string                     `json:"name"`
		Arguments map[string]json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil {
		return &reply{err: errorf(codeInvalidParams, "invalid params: %v", err)}, nil
	}
	op := t.ops[p.Name]
	if op == nil {
		return &reply{err: errorf(codeInvalidParams, "unknown tool %q", p.Name)}, nil
	}
	req, rerr := t.build(ctx, op, p.Arguments)
	if rerr != nil {
		return &reply{err: rerr}, nil
	}
	authorize(req.Header, t.auth, c.caller)
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	resp, err := t.client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("mcp: openapi target %s: %w", t.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIAnswerBytes+1))
	if err != nil {
		return nil, fmt.Errorf("mcp: openapi target %s: read answer: %w", t.name, err)
	}
	text := string(body)
	if len(body) > maxAPIAnswerBytes {
		text = string(body[:maxAPIAnswerBytes]) + "\n[answer truncated at 4 MiB]"
	}
	if resp.StatusCode >= 400 {
		text = "HTTP " + strconv.Itoa(resp.StatusCode) + ": " + text
	}
	res, err := json.Marshal(map[string]any{
		"content": []map[string]any{{"type": "text", "text": text}},
		"isError": resp.StatusCode >= 400,
	})
	if err != nil {
		return nil, fmt.Errorf("mcp: encode result: %w", err)
	}
	return &reply{result: res}, nil
}

// build makes the operation's request from the tool's arguments.
func (t *openapiTarget) build(ctx context.Context, op *operation, args map[string]json.RawMessage) (*http.Request, *rpcError) {
	path, rawPath := op.path, op.path
	q := url.Values{}
	hdr := http.Header{}
	for _, p := range op.params {
		raw, ok := args[p.Name]
		if !ok || string(raw) == "null" {
			if p.Required || p.In == openapi3.ParameterInPath {
				return nil, errorf(codeInvalidParams, "missing required argument %q", p.Name)
			}
			continue
		}
		values, err := scalarValues(raw)
		if err != nil {
			return nil, errorf(codeInvalidParams, "argument %q: %v", p.Name, err)
		}
		switch p.In {
		case openapi3.ParameterInPath:
			v := strings.Join(values, ",")
			path = strings.ReplaceAll(path, "{"+p.Name+"}", v)
			rawPath = strings.ReplaceAll(rawPath, "{"+p.Name+"}", url.PathEscape(v))
		case openapi3.ParameterInQuery:
			for _, v := range values {
				q.Add(p.Name, v)
			}
		case openapi3.ParameterInHeader:
			hdr.Set(p.Name, strings.Join(values, ","))
		}
	}
	u := *t.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = strings.TrimSuffix(t.base.EscapedPath(), "/") + rawPath
	u.RawQuery = q.Encode()
	var body io.Reader
	if op.body {
		if raw, ok := args["body"]; ok {
			body = bytes.NewReader(raw)
			hdr.Set("Content-Type", "application/json")
		}
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(op.method), u.String(), body)
	if err != nil {
		return nil, errorf(codeInvalidParams, "cannot build the request: %v", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// scalarValues renders an argument for a path, query or header: a scalar
// is one value, an array of scalars several.
func scalarValues(raw json.RawMessage) ([]string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	one := func(x any) (string, error) {
		switch y := x.(type) {
		case string:
			return y, nil
		case json.Number:
			return y.String(), nil
		case bool:
			return strconv.FormatBool(y), nil
		}
		return "", errors.New("must be a string, a number, a boolean or an array of them")
	}
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, x := range list {
			s, err := one(x)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := one(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}
