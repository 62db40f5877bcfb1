package vertex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Gemini's function parameters and responseSchema are an OpenAPI 3.0 subset
// of JSON Schema. convertSchema keeps the supported keywords (type, format,
// title, description, nullable, enum, items, properties, required,
// minItems, maxItems, minProperties, maxProperties, minLength, maxLength,
// pattern, minimum, maximum, anyOf, propertyOrdering, default, example) and:
//   - upper-cases type; a type list ["string","null"] becomes STRING + nullable,
//     several non-null types become anyOf;
//   - const becomes a one-value enum; oneOf becomes anyOf; a one-element allOf is merged in;
//   - local $ref (#/$defs/X, #/definitions/X) is inlined (to a depth of 8);
//   - enum is kept only when all values are strings; format is kept only when
//     Gemini supports it for the type (enum/date-time, int32/int64, float/double);
//   - required names not among properties and empty properties objects are removed;
//   - everything else is dropped: $schema, $id, $defs, definitions, additionalProperties,
//     strict, patternProperties, unevaluatedProperties, not, if/then/else,
//     exclusiveMinimum/Maximum, multipleOf, uniqueItems, contains, examples, ...
//
// topLevel drops an OBJECT schema with no properties entirely (Gemini rejects an
// empty parameters object): the function then takes no parameters.
func convertSchema(raw json.RawMessage, topLevel bool) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("schema must be a JSON object")
	}
	c := schemaConverter{root: root}
	out := c.convert(root, 0)
	if c.nodes > maxSchemaNodes {
		return nil, fmt.Errorf("schema is too large: more than %d subschemas once $ref is inlined", maxSchemaNodes)
	}
	if topLevel && out["type"] == "OBJECT" && out["properties"] == nil {
		return nil, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return b, nil
}

type schemaConverter struct {
	root  map[string]any
	nodes int // subschemas converted so far
}

const maxSchemaDepth = 8

// maxSchemaNodes bounds the subschemas of one converted schema: inlining
// $refs that fan out at each of maxSchemaDepth levels would otherwise turn a
// few kilobytes into gigabytes.
const maxSchemaNodes = 20000

// copied keywords, unchanged.
func isPlainKeyword(k string) bool {
	switch k {
	case "title", "description", "nullable", "minItems", "maxItems", "minProperties", "maxProperties",
		"minLength", "maxLength", "pattern", "minimum", "maximum", "propertyOrdering", "default", "example":
		return true
	}
	return false
}

func (c *schemaConverter) convert(in map[string]any, depth int) map[string]any {
	out := map[string]any{}
	if c.nodes++; c.nodes > maxSchemaNodes {
		return out // convertSchema reports the error
	}
	if depth > maxSchemaDepth {
		out["type"] = "OBJECT"
		return out
	}
	in = c.resolve(in)
	for k, v := range in {
		switch {
		case isPlainKeyword(k):
			out[k] = v
		case k == "type":
			c.convertType(out, v)
		case k == "const":
			out["enum"] = []any{v}
		case k == "enum":
			out["enum"] = v
		case k == "format":
			out["format"] = v
		case k == "items":
			if m, ok := v.(map[string]any); ok {
				out["items"] = c.convert(m, depth+1)
			}
		case k == "properties":
			if m, ok := v.(map[string]any); ok && len(m) > 0 {
				props := map[string]any{}
				for name, p := range m {
					if pm, ok := p.(map[string]any); ok {
						props[name] = c.convert(pm, depth+1)
					}
				}
				out["properties"] = props
			}
		case k == "anyOf" || k == "oneOf":
			if list, ok := v.([]any); ok {
				var alts []any
				for _, a := range list {
					if am, ok := a.(map[string]any); ok {
						alts = append(alts, c.convert(am, depth+1))
					}
				}
				if len(alts) > 0 {
					out["anyOf"] = alts
				}
			}
		}
	}
	c.fixup(out, in)
	return out
}

// resolve inlines a local $ref and merges a one-element allOf.
func (c *schemaConverter) resolve(in map[string]any) map[string]any {
	for i := 0; i < maxSchemaDepth; i++ {
		merged := map[string]any{}
		target := map[string]any(nil)
		if ref, ok := in["$ref"].(string); ok {
			target = c.lookup(ref)
		} else if all, ok := in["allOf"].([]any); ok && len(all) == 1 {
			target, _ = all[0].(map[string]any)
		}
		if target == nil {
			return in
		}
		for k, v := range target {
			merged[k] = v
		}
		for k, v := range in { // the referring schema's own keywords win (description, ...)
			if k != "$ref" && k != "allOf" {
				merged[k] = v
			}
		}
		in = merged
	}
	return in
}

func (c *schemaConverter) lookup(ref string) map[string]any {
	for _, prefix := range []string{"#/$defs/", "#/definitions/"} {
		if name, ok := strings.CutPrefix(ref, prefix); ok {
			defs, _ := c.root[strings.TrimSuffix(strings.TrimPrefix(prefix, "#/"), "/")].(map[string]any)
			m, _ := defs[name].(map[string]any)
			return m
		}
	}
	return nil
}

func (c *schemaConverter) convertType(out map[string]any, v any) {
	switch t := v.(type) {
	case string:
		if t == "null" {
			out["nullable"] = true
			return
		}
		out["type"] = strings.ToUpper(t)
	case []any:
		var types []string
		for _, x := range t {
			s, _ := x.(string)
			if s == "null" {
				out["nullable"] = true
			} else if s != "" {
				types = append(types, strings.ToUpper(s))
			}
		}
		switch len(types) {
		case 0:
		case 1:
			out["type"] = types[0]
		default:
			alts := make([]any, len(types))
			for i, s := range types {
				alts[i] = map[string]any{"type": s}
			}
			out["anyOf"] = alts
		}
	}
}

// fixup removes values Gemini rejects once the keywords are collected.
func (c *schemaConverter) fixup(out, in map[string]any) {
	if enum, ok := out["enum"].([]any); ok {
		for _, e := range enum {
			if _, isStr := e.(string); !isStr {
				delete(out, "enum")
				break
			}
		}
	}
	if f, ok := out["format"].(string); ok {
		typ, _ := out["type"].(string)
		if !formatSupported(typ, f) {
			delete(out, "format")
		}
	}
	if req, ok := in["required"].([]any); ok {
		props, _ := out["properties"].(map[string]any)
		var names []string
		for _, r := range req {
			if s, ok := r.(string); ok && props[s] != nil {
				names = append(names, s)
			}
		}
		if len(names) > 0 {
			out["required"] = names
		}
	}
}

func formatSupported(typ, f string) bool {
	switch typ {
	case "STRING":
		return f == "enum" || f == "date-time"
	case "INTEGER":
		return f == "int32" || f == "int64"
	case "NUMBER":
		return f == "float" || f == "double"
	}
	return false
}
