package mcp

import (
	"github.com/getkin/kin-openapi/openapi3"
)

// Bounds on the JSON schema made of one operation: a schema deeper than
// maxSchemaDepth is cut to {} (any value), and an operation whose schema
// would hold more than maxSchemaNodes nodes is skipped.
const (
	maxSchemaDepth = 12
	maxSchemaNodes = 5000
)

// schemaBuilder converts OpenAPI schemas to JSON schema objects, bounded:
// a reference cycle becomes {} where it closes, and the node budget stops
// huge schemas.
type schemaBuilder struct {
	nodes    int
	visiting map[*openapi3.Schema]bool
}

// over reports whether the budget is spent.
func (b *schemaBuilder) over() bool { return b.nodes > maxSchemaNodes }

// build converts ref (nil: any value).
func (b *schemaBuilder) build(ref *openapi3.SchemaRef, depth int) map[string]any {
	b.nodes++
	if ref == nil || ref.Value == nil || depth > maxSchemaDepth || b.over() {
		return map[string]any{}
	}
	s := ref.Value
	if b.visiting[s] {
		return map[string]any{} // a cycle: the recursion stops here
	}
	b.visiting[s] = true
	defer delete(b.visiting, s)
	out := map[string]any{}
	if s.Type != nil && !s.Type.IsEmpty() {
		ts := s.Type.Slice()
		if s.Nullable {
			ts = append(append([]string{}, ts...), "null")
		}
		if len(ts) == 1 {
			out["type"] = ts[0]
		} else {
			out["type"] = ts
		}
	}
	for k, v := range map[string]string{"format": s.Format, "description": s.Description, "title": s.Title, "pattern": s.Pattern} {
		if v != "" {
			out[k] = v
		}
	}
	if len(s.Enum) > 0 {
		out["enum"] = s.Enum
	}
	if s.Default != nil {
		out["default"] = s.Default
	}
	if s.Min != nil {
		out["minimum"] = *s.Min
	}
	if s.Max != nil {
		out["maximum"] = *s.Max
	}
	if s.MaxLength != nil {
		out["maxLength"] = *s.MaxLength
	}
	if s.MinLength > 0 {
		out["minLength"] = s.MinLength
	}
	if s.MaxItems != nil {
		out["maxItems"] = *s.MaxItems
	}
	if s.MinItems > 0 {
		out["minItems"] = s.MinItems
	}
	if len(s.Required) > 0 {
		out["required"] = s.Required
	}
	if s.Items != nil {
		out["items"] = b.build(s.Items, depth+1)
	}
	if len(s.Properties) > 0 {
		props := make(map[string]any, len(s.Properties))
		for name, p := range s.Properties {
			if b.over() {
				break
			}
			props[name] = b.build(p, depth+1)
		}
		out["properties"] = props
	}
	if ap := s.AdditionalProperties; ap.Has != nil {
		out["additionalProperties"] = *ap.Has
	} else if ap.Schema != nil {
		out["additionalProperties"] = b.build(ap.Schema, depth+1)
	}
	for key, refs := range map[string]openapi3.SchemaRefs{"oneOf": s.OneOf, "anyOf": s.AnyOf, "allOf": s.AllOf} {
		if len(refs) == 0 {
			continue
		}
		list := make([]any, 0, len(refs))
		for _, r := range refs {
			list = append(list, b.build(r, depth+1))
		}
		out[key] = list
	}
	return out
}
