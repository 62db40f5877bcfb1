package config

import (
	"encoding/json"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as a Go duration string ("30s", "1h").
// The markers give its schema in the Kubernetes CRDs (k8s/api/v1alpha1).
//
// +kubebuilder:validation:Type=string
// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
type Duration time.Duration

var (
	_ yaml.Unmarshaler = (*Duration)(nil)
	_ yaml.Marshaler   = Duration(0)
	_ json.Marshaler   = Duration(0)
)

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML implements yaml.Unmarshaler. Problems are returned as a *yaml.TypeError
// so that the decoder goes on and reports every bad field, not only the first.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if n.Kind != yaml.ScalarNode || n.Decode(&s) != nil {
		return durationError("line %d: duration must be a string like 30s or 500ms", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return durationError("line %d: invalid duration %q (use a form like 500ms, 30s, 1h)", n.Line, s)
	}
	if v < 0 {
		return durationError("line %d: duration %q must not be negative", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// MarshalYAML implements yaml.Marshaler as a duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// durationError is a one-message *yaml.TypeError.
func durationError(format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf(format, args...)}}
}

var _ json.Unmarshaler = (*Duration)(nil)

// UnmarshalJSON implements json.Unmarshaler: a duration string like 30s, as
// Kubernetes resources carry them.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like 30s or 500ms")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use a form like 500ms, 30s, 1h)", s)
	}
	if v < 0 {
		return fmt.Errorf("duration %q must not be negative", s)
	}
	*d = Duration(v)
	return nil
}
