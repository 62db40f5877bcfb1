// Package crds_test checks that the hand-written CRDs in this directory
// describe exactly the fields of the Go types in k8s/api/v1alpha1 (their
// JSON names, recursively), so that neither drifts from the other.
package crds_test

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
)

// schema is the part of an OpenAPI schema the check reads.
type schema struct {
	Type                 string             `json:"type"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties *schema            `json:"additionalProperties"`
}

type crd struct {
	Spec struct {
		Names    struct{ Kind string } `json:"names"`
		Versions []struct {
			Name   string `json:"name"`
			Schema struct {
				OpenAPIV3Schema *schema `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

func TestCRDsMatchTheGoTypes(t *testing.T) {
	types := map[string]reflect.Type{
		"switchyard.dev_backends.yaml":  reflect.TypeFor[v1alpha1.Backend](),
		"switchyard.dev_policies.yaml":  reflect.TypeFor[v1alpha1.Policy](),
		"switchyard.dev_consumers.yaml": reflect.TypeFor[v1alpha1.Consumer](),
	}
	for file, typ := range types {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c crd
			if err := yaml.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			if c.Spec.Names.Kind != typ.Name() || len(c.Spec.Versions) != 1 || c.Spec.Versions[0].Name != v1alpha1.GroupVersion.Version {
				t.Fatalf("kind %s versions %+v", c.Spec.Names.Kind, c.Spec.Versions)
			}
			root := c.Spec.Versions[0].Schema.OpenAPIV3Schema
			for _, part := range []string{"spec", "status"} {
				f, _ := typ.FieldByName(strings.ToUpper(part[:1]) + part[1:])
				compare(t, part, f.Type, root.Properties[part])
			}
		})
	}
}

var (
	durationType = reflect.TypeFor[interface{ D() time.Duration }]()
	timeType     = reflect.TypeFor[metav1.Time]()
)

// compare walks a Go type and its schema together.
func compare(t *testing.T, path string, typ reflect.Type, s *schema) {
	t.Helper()
	if s == nil {
		t.Errorf("%s: in the Go type, not in the CRD", path)
		return
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ == timeType || typ.Implements(durationType):
		if s.Type != "string" {
			t.Errorf("%s: type %s, want string", path, s.Type)
		}
		return
	case typ.Kind() == reflect.Slice:
		if s.Items == nil {
			t.Errorf("%s: a list in Go, not in the CRD", path)
			return
		}
		compare(t, path+"[]", typ.Elem(), s.Items)
		return
	case typ.Kind() == reflect.Map:
		if s.AdditionalProperties == nil {
			t.Errorf("%s: a map in Go, not in the CRD", path)
		}
		return
	case typ.Kind() != reflect.Struct || typ.PkgPath() == "k8s.io/apimachinery/pkg/apis/meta/v1":
		return
	}
	var names []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		compare(t, path+"."+name, f.Type, s.Properties[name])
	}
	for name := range s.Properties {
		if !slices.Contains(names, name) {
			t.Errorf("%s.%s: in the CRD, not in the Go type", path, name)
		}
	}
}
