package translate

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden translates every testdata/<case>.in.yaml and compares the
// configuration, the status and the problems with <case>.golden.yaml. The
// configuration must also be accepted by config.Compile with no route disabled.
func TestGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			input := &Input{}
			if err := Decode(input, in, b); err != nil {
				t.Fatal(err)
			}
			out := Translate(input, Options{})
			got, err := Render(out)
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".in.yaml") + ".golden.yaml"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("translation differs from %s (run with -update and review the diff):\n%s", golden, diff(string(want), string(got)))
			}
			snap, err := config.Compile(name, Translate(input, Options{}).Config)
			if err != nil {
				t.Fatalf("config.Compile refuses the translation: %v", err)
			}
			for _, r := range snap.Routes {
				if r.Disabled {
					t.Errorf("route %s disabled: %s", r.Key, r.Reason)
				}
			}
		})
	}
}

// TestSeedKeys checks the keys the issue names verbatim.
func TestSeedKeys(t *testing.T) {
	b, err := os.ReadFile("testdata/seed.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := &Input{}
	if err := Decode(in, "seed.in.yaml", b); err != nil {
		t.Fatal(err)
	}
	snap, err := config.Compile("seed", Translate(in, Options{}).Config)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Binds) != 1 || snap.Binds[0].Key != "8080/default/my-gateway" {
		t.Errorf("binds = %+v, want one with key 8080/default/my-gateway", snap.Binds)
	}
	if len(snap.Routes) != 1 || !slices.Contains(snap.Routes[0].RuleKeys, "default.my-route.0.0") {
		t.Errorf("routes = %+v, want default/my-route with rule key default.my-route.0.0", snap.Routes)
	}
	if got := snap.Routes[0].Listeners; !slices.Equal(got, []string{"default/my-gateway.http"}) {
		t.Errorf("listeners = %v", got)
	}
}

// TestDecodeErrors checks that a bad manifest names its file and document.
func TestDecodeErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {bogus: 1}\n", "document 1: Gateway"},
		{"no kind", "---\nfoo: bar\n", "document 1: no kind"},
		{"second document", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: v1\nkind: Service\nspec: {ports: 3}\n", "document 2: Service"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Decode(&Input{}, "x.yaml", []byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "x.yaml") {
				t.Fatalf("err = %v, want one naming x.yaml and %q", err, c.want)
			}
		})
	}
}

// diff is a line diff good enough to read a golden mismatch.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}

// TestExample translates examples/kubernetes: every resource is served and
// the configuration compiles.
func TestExample(t *testing.T) {
	in, err := LoadDir("../../examples/kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	out := Translate(in, Options{})
	// The echo Service has no EndpointSlice outside a cluster: it resolves
	// (no problem), and its rule answers 500 until endpoints are ready.
	if len(out.Problems) != 0 {
		t.Errorf("problems: %v", out.Problems)
	}
	snap, err := config.Compile("example", out.Config)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Routes) != 2 || snap.Binds[0].Key != "8080/default/my-gateway" {
		t.Errorf("routes %d, binds %+v", len(snap.Routes), snap.Binds)
	}
	for k, conds := range out.Status.Resources {
		if conds[0].Status != "True" {
			t.Errorf("%s not accepted: %+v", k, conds)
		}
	}
}
