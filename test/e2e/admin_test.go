package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestAdminConfigAndDisabledRoute(t *testing.T) {
	up := newEcho(t, "app")
	g := startGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: good
    rules: [{matches: [{path: {type: PathPrefix, value: /good}}], backendRefs: [{name: app}]}]
  - name: broken
    rules: [{matches: [{path: {type: PathPrefix, value: /broken}}], backendRefs: [{name: missing}]}]
backends:
  - name: app
    static: {endpoints: [%s]}
  - name: llm
    ai: {provider: openai, baseURL: "http://127.0.0.1:9", auth: {apiKey: "sk-super-secret-value"}}
`, up.endpointYAML(1)))

	if resp, echo := do(t, newRequest(t, "GET", g.URL("/good"), nil)); resp.StatusCode != 200 || echo == nil {
		t.Fatalf("the valid route does not serve: %d", resp.StatusCode)
	}
	if resp, _ := do(t, newRequest(t, "GET", g.URL("/broken"), nil)); resp.StatusCode != 404 {
		t.Fatalf("the disabled route answered %d", resp.StatusCode)
	}

	resp, err := http.Get("http://" + g.Admin + "/config")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), "sk-super-secret-value") {
		t.Fatal("/config leaks the API key")
	}
	if strings.Contains(g.Logs(), "sk-super-secret-value") {
		t.Fatal("the logs leak the API key")
	}
	var out struct {
		Snapshot struct {
			Binds     []struct{ Key string }
			Listeners []struct{ Key string }
			Routes    []struct {
				Key      string
				RuleKeys []string
				Disabled bool
				Reason   string
			}
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Snapshot.Binds) != 1 || out.Snapshot.Binds[0].Key != fmt.Sprintf("%d/default/switchyard", g.Port) {
		t.Fatalf("binds = %+v", out.Snapshot.Binds)
	}
	if len(out.Snapshot.Listeners) != 1 || out.Snapshot.Listeners[0].Key != "default/switchyard.web" {
		t.Fatalf("listeners = %+v", out.Snapshot.Listeners)
	}
	byKey := map[string]int{}
	for i, r := range out.Snapshot.Routes {
		byKey[r.Key] = i
	}
	good, broken := out.Snapshot.Routes[byKey["default/good"]], out.Snapshot.Routes[byKey["default/broken"]]
	if good.Disabled || len(good.RuleKeys) != 1 || good.RuleKeys[0] != "default.good.0.0" {
		t.Fatalf("good route = %+v", good)
	}
	if !broken.Disabled || !strings.Contains(broken.Reason, `unknown backend "default/missing"`) {
		t.Fatalf("broken route = %+v", broken)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + g.Admin + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	if v := g.metric(`switchyard_routes{state="disabled"}`); v != 1 {
		t.Fatalf("switchyard_routes disabled = %v", v)
	}
}

// TestAdminProfiles checks that Go's profiles are served on the admin server
// only when SWITCHYARD_PPROF=1 (or --pprof) asks for them.
func TestAdminProfiles(t *testing.T) {
	cfg := `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes: [{name: r, rules: [{backendRefs: [{name: sim}]}]}]
backends: [{name: sim, ai: {provider: sim}}]
`
	for _, tt := range []struct {
		name string
		env  []string
		want int
	}{
		{name: "off by default", want: http.StatusNotFound},
		{name: "SWITCHYARD_PPROF=1", env: []string{"SWITCHYARD_PPROF=1"}, want: http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := startGateway(t, cfg, tt.env...)
			for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
				resp, err := http.Get("http://" + g.Admin + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Fatalf("GET %s = %d, want %d", path, resp.StatusCode, tt.want)
				}
				if tt.want == http.StatusOK && path != "/debug/pprof/" && !strings.Contains(string(body), "goroutine profile") {
					t.Fatalf("GET %s: %.200s", path, body)
				}
			}
		})
	}
}
