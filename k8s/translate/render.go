package translate

import (
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// RenderConfig prints only the configuration of an Output, as Render does:
// a configuration file `switchyard run -c` loads (but with secrets redacted).
func RenderConfig(out *Output) ([]byte, error) {
	b, err := Render(&Output{Config: out.Config})
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("translate: render: %w", err)
	}
	return yaml.Marshal(m["config"])
}

// Render prints an Output as YAML for people and golden files: secrets
// redacted (config.Secret marshals as "<redacted>"), and the configuration's
// empty fields (zero values the defaults fill in) left out.
func Render(out *Output) ([]byte, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("translate: render: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("translate: render: %w", err)
	}
	if c, ok := m["config"]; ok {
		m["config"] = prune(c, true)
	}
	if s, ok := m["status"]; ok {
		m["status"] = prune(s, false)
	}
	return yaml.Marshal(m)
}

// meaningful are the fields whose zero value says something (a pointer
// set to 0, an empty block that turns something on): never pruned.
var meaningful = map[string]bool{"weight": true, "percent": true, "apiKeys": true}

// prune drops nulls and empty strings, and with zeros also 0, false, "0s"
// and empty maps and lists.
func prune(v any, zeros bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = prune(e, zeros)
			if empty(e, zeros) && !meaningful[k] {

				delete(x, k)
			} else {
				x[k] = e
			}
		}
		return x
	case []any:
		for i := range x {
			x[i] = prune(x[i], zeros)
		}
		return x
	}
	return v
}

func empty(v any, zeros bool) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == "" || zeros && x == "0s"
	case float64:
		return zeros && x == 0
	case bool:
		return zeros && !x
	case map[string]any:
		return zeros && len(x) == 0
	case []any:
		return zeros && len(x) == 0
	}
	return false
}
