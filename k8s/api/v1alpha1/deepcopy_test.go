package v1alpha1

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-ai/switchyard/config"
)

// fill sets every string reachable from v (through pointers, slices, maps
// and structs, allocating nil pointers and adding one element to empty
// slices and maps) to s, and every int to n.
func fill(v reflect.Value, s string, n int64, depth int) {
	if depth > 12 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() && v.CanSet() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if !v.IsNil() {
			fill(v.Elem(), s, n, depth+1)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[metav1.Time]() || v.Type() == reflect.TypeFor[metav1.ObjectMeta]() || v.Type() == reflect.TypeFor[metav1.TypeMeta]() {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), s, n, depth+1)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 && v.CanSet() {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		for i := range v.Len() {
			fill(v.Index(i), s, n, depth+1)
		}
	case reflect.Map:
		if v.Len() == 0 && v.CanSet() {
			m := reflect.MakeMap(v.Type())
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, s, n, depth+1)
			m.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), e)
			v.Set(m)
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			if e.Kind() == reflect.Slice { // the slice's elements are shared: change them in place
				fill(e, s, n, depth+1)
				continue
			}
			fill(e, s, n, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		if v.Type() != reflect.TypeFor[config.Duration]() {
			v.SetInt(n)
		} else {
			v.SetInt(int64(time.Duration(n) * time.Second))
		}
	}
}

// TestBackendDeepCopy fills every field of an mcp and an a2a Backend, copies
// it, changes every field of the copy and checks the original kept its own.
func TestBackendDeepCopy(t *testing.T) {
	for _, spec := range []BackendSpec{{MCP: &MCPBackend{}}, {A2A: &A2ABackend{}}, {AI: &AIBackend{}}, {Static: &StaticBackend{}}} {
		b := &Backend{Spec: spec}
		for i := range reflect.ValueOf(&b.Spec).Elem().NumField() {
			if f := reflect.ValueOf(&b.Spec).Elem().Field(i); !f.IsNil() {
				fill(f, "orig", 1, 0)
			}
		}
		before, _ := json.Marshal(b)
		c := b.DeepCopy()
		if after, _ := json.Marshal(c); string(after) != string(before) {
			t.Fatalf("copy differs:\n%s\n%s", before, after)
		}
		for i := range reflect.ValueOf(&c.Spec).Elem().NumField() {
			if f := reflect.ValueOf(&c.Spec).Elem().Field(i); !f.IsNil() {
				fill(f, "changed", 2, 0)
			}
		}
		if after, _ := json.Marshal(b); string(after) != string(before) {
			t.Errorf("changing the copy changed the original:\n%s\n%s", before, after)
		}
	}
}
