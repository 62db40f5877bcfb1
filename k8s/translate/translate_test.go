package translate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/testutil"
)

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
			testutil.GoldenText(t, strings.TrimSuffix(in, ".in.yaml")+".golden.yaml", got)
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

// TestDecodeEmptyDocuments checks that documents holding only comments or
// null (as a file's header comment before its first "---") are skipped.
func TestDecodeEmptyDocuments(t *testing.T) {
	for _, doc := range []string{
		"# header\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
		"null\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n# trailing\n",
	} {
		in := &Input{}
		if err := Decode(in, "x.yaml", []byte(doc)); err != nil {
			t.Fatalf("Decode(%q): %v", doc, err)
		}
		if len(in.Services) != 1 || in.Services[0].Name != "s" {
			t.Errorf("Decode(%q): services = %+v, want s", doc, in.Services)
		}
	}
}

// TestGatewayAddresses checks the Gateways' status addresses taken from the
// Service in front of the replicas.
func TestGatewayAddresses(t *testing.T) {
	b, err := os.ReadFile("testdata/seed.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		svc  string // YAML of the Service switchyard/gw, "" for none
		want string
	}{
		{"load balancer IP", "spec: {clusterIP: 10.0.0.9, clusterIPs: [10.0.0.9]}\nstatus: {loadBalancer: {ingress: [{ip: 203.0.113.7}]}}", "IPAddress=203.0.113.7"},
		{"load balancer hostname", "status: {loadBalancer: {ingress: [{hostname: lb.example.com}]}}", "Hostname=lb.example.com"},
		{"cluster IP", "spec: {clusterIP: 10.0.0.9, clusterIPs: [10.0.0.9]}", "IPAddress=10.0.0.9"},
		{"headless", "spec: {clusterIP: None, clusterIPs: [None]}", ""},
		{"no Service", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &Input{}
			doc := string(b)
			if c.svc != "" {
				doc += "\n---\napiVersion: v1\nkind: Service\nmetadata: {name: gw, namespace: switchyard}\n" + c.svc + "\n"
			}
			if err := Decode(in, "seed", []byte(doc)); err != nil {
				t.Fatal(err)
			}
			out := Translate(in, Options{AddressService: "switchyard/gw"})
			var got []string
			for _, a := range out.Status.Gateways["default/my-gateway"].Addresses {
				got = append(got, string(*a.Type)+"="+a.Value)
			}
			if strings.Join(got, ",") != c.want {
				t.Fatalf("addresses = %v, want %q", got, c.want)
			}
		})
	}
}
