package schema

import (
	"encoding/json"
	"reflect"
	"testing"
)

// readerDoc is what TestReader decodes with Reader and with encoding/json.
type readerDoc struct {
	N   int             `json:"n"`
	S   string          `json:"s"`
	Raw json.RawMessage `json:"raw"`
	L   []string        `json:"l"`
}

// readDoc decodes a readerDoc with Reader; ok false: give up.
func readDoc(b []byte) (d readerDoc, ok bool) {
	r := NewReader(b)
	ok = r.Object(func(key string) bool {
		switch key {
		case "n":
			return r.Int(&d.N)
		case "s":
			return r.String(&d.S)
		case "raw":
			v, ok := r.Raw()
			d.Raw = v
			return ok
		case "l":
			if r.Null() {
				return true
			}
			d.L = []string{}
			return r.Array(func() bool {
				d.L = append(d.L, "")
				return r.String(&d.L[len(d.L)-1])
			})
		}
		return !Folds(key, "n", "s", "raw", "l") && r.Skip()
	}) && r.End()
	return d, ok
}

// TestReader checks Reader against encoding/json on the documents it takes,
// and that it gives up on those it must leave to encoding/json.
func TestReader(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"all", `{"n":-3,"s":"a\u00e9\n","raw":{"x": [1, null]},"l":["a",null,"b"],"other":{"n":"x"}}`, true},
		{"nulls", `{"n":null,"s":null,"raw":null,"l":null}`, true},
		{"empty", ` {} `, true},
		{"float int", `{"n":1.5}`, false},
		{"string int", `{"n":"1"}`, false},
		{"number string", `{"s":1}`, false},
		{"folded key", `{"N":1}`, false},
		{"trailing data", `{} {}`, false},
		{"syntax", `{"n":1,}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := readDoc([]byte(tt.doc))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			var want readerDoc
			if err := json.Unmarshal([]byte(tt.doc), &want); ok && (err != nil || !reflect.DeepEqual(got, want)) {
				t.Fatalf("got %+v, encoding/json %+v (%v)", got, want, err)
			}
		})
	}
}
