package config

import (
	"os"
	"testing"
)

// FuzzLoadBytes checks that no input makes loading panic and that every failure is Errors.
func FuzzLoadBytes(f *testing.F) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(full), "listeners: [{name: a, port: 1}]", "a: ${X:-${Y", "- &a [*a]", "routes: [{rules: [{}]}]", "$$${}"} {
		f.Add([]byte(s))
	}
	env := envOf(map[string]string{"OPENAI_API_KEY": "k", "X": "a\nb: c"})
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, err := LoadBytes("f.yaml", data, env)
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error is %T: %v", err, err)
			}
			return
		}
		if snap == nil || snap.Config == nil {
			t.Fatal("nil snapshot without error")
		}
	})
}
