package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// fullEnv is the environment the full example is loaded with.
var fullEnv = map[string]string{"OPENAI_API_KEY": "sk-test-very-secret-key"}

func loadFull(t *testing.T) *Snapshot {
	t.Helper()
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := LoadBytes("full.yaml", data, envOf(fullEnv))
	if err != nil {
		t.Fatalf("load full.yaml: %v", err)
	}
	return snap
}

func TestLoadFullGolden(t *testing.T) {
	snap := loadFull(t)
	if len(snap.Problems) > 0 {
		t.Fatalf("unexpected problems: %v", snap.Problems)
	}
	if time.Since(snap.Loaded) > time.Minute {
		t.Errorf("Loaded = %v, want now", snap.Loaded)
	}
	snap.Loaded = time.Time{}
	got, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "full.snapshot.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./config -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("snapshot differs from %s (run with -update and review the diff):\n%s", golden, got)
	}
}

func TestSnapshotJSONRedactsSecrets(t *testing.T) {
	yaml := `
backends:
  - name: openai
    ai: {provider: openai, auth: {apiKey: "${KEY}"}}
  - name: br
    ai:
      provider: bedrock
      region: us-east-1
      auth: {aws: {accessKeyID: AKIAEXAMPLE, secretAccessKey: "${AWS_SECRET}", sessionToken: tok-secret-123}}
  - name: proxied
    ai: {provider: openai-compatible, baseURL: "https://user:proxy-pass-456@proxy.internal:8443/v1"}
`
	env := map[string]string{"KEY": "sk-live-abcdef123456", "AWS_SECRET": "aws-secret-xyz789"}
	snap, err := LoadBytes("s.yaml", []byte(yaml), envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Backend("default/openai").AI.Auth.APIKey.Value(); got != env["KEY"] {
		t.Fatalf("apiKey = %q, want the substituted key", got)
	}
	out, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{env["KEY"], env["AWS_SECRET"], "tok-secret-123", "proxy-pass-456"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("snapshot JSON contains secret %q", secret)
		}
	}
	if !bytes.Contains(out, []byte(`"apiKey":"\u003credacted\u003e"`)) {
		t.Errorf("snapshot JSON does not show the redacted apiKey: %s", out)
	}
	if !bytes.Contains(out, []byte(`proxy.internal:8443/v1`)) {
		t.Errorf("snapshot JSON lost the rest of the baseURL: %s", out)
	}
	if got := snap.Backend("default/proxied").AI.BaseURL; got != "https://user:proxy-pass-456@proxy.internal:8443/v1" {
		t.Errorf("the configuration itself must keep the credentials, got %q", got)
	}
}

func TestKeys(t *testing.T) {
	snap := loadFull(t)
	binds := map[string][]string{}
	for _, b := range snap.Binds {
		binds[b.Key] = b.Listeners
	}
	wantBinds := map[string][]string{
		"8080/default/switchyard": {"default/switchyard.web", "default/switchyard.admin"},
		"9090/default/models":     {"default/models.ai"},
	}
	if !reflect.DeepEqual(binds, wantBinds) {
		t.Errorf("binds = %v, want %v", binds, wantBinds)
	}
	tests := []struct {
		name      string
		route     int
		key       string
		ruleKeys  []string
		listeners []string
	}{
		{name: "api", route: 0, key: "default/api", ruleKeys: []string{"default.api.0.0", "default.api.1.0"},
			listeners: []string{"default/switchyard.web"}},
		{name: "chat", route: 1, key: "default/chat", ruleKeys: []string{"default.chat.0.0", "default.chat.0.1"},
			listeners: []string{"default/models.ai"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ri := snap.Routes[tt.route]
			if ri.Key != tt.key || !reflect.DeepEqual(ri.RuleKeys, tt.ruleKeys) || !reflect.DeepEqual(ri.Listeners, tt.listeners) {
				t.Errorf("route = %q %v %v, want %q %v %v", ri.Key, ri.RuleKeys, ri.Listeners, tt.key, tt.ruleKeys, tt.listeners)
			}
		})
	}
	for _, k := range []string{"default/app", "default/shadow", "default/openai", "default/sim"} {
		if snap.Backend(k) == nil {
			t.Errorf("backend %q missing", k)
		}
	}
	if got := snap.Listeners[2].BindKey; got != "9090/default/models" {
		t.Errorf("listener ai bind = %q", got)
	}
}

func TestDefaults(t *testing.T) {
	yaml := `
listeners:
  - {name: a, port: 80}
  - {name: b, port: 81, namespace: team}
routes:
  - name: r
    rules:
      - matches: [{headers: [{name: x, value: y}], queryParams: [{name: q, value: "1"}]}]
        backendRefs: [{name: app}]
        filters:
          - {type: RequestRedirect, requestRedirect: {hostname: x.example, path: {replaceFullPath: /n}}}
          - {type: RequestMirror, requestMirror: {backendRef: {name: app}}}
        retry: {attempts: 1}
      - backendRefs: [{name: other/app2, weight: 0}]
        retry: {attempts: 0}
  - name: team/r2
    rules: [{backendRefs: [{name: app2}]}]
backends:
  - name: app
    static:
      endpoints: [{host: h, port: 1}]
      healthCheck: {}
      outlierDetection: {}
  - name: other/app2
    static: {endpoints: [{host: h, port: 2, weight: 3}]}
  - name: team/app2
    static: {endpoints: [{host: h, port: 2}]}
  - name: s
    ai: {provider: sim}
`
	snap, err := LoadBytes("d.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := snap.Config
	on := true
	wantServer := Server{MaxHeaderBytes: 16384, MaxBodyBytes: 32 << 20, ReadTimeout: Duration(30 * time.Second),
		StreamWriteTimeout: Duration(30 * time.Second), IdleTimeout: Duration(90 * time.Second),
		DrainTimeout: Duration(30 * time.Second), AccessLog: &on}
	r0 := c.Routes[0].Rules[0]
	static := c.Backends[0].Static
	tests := []struct {
		name      string
		got, want any
	}{
		{"server", c.Server, wantServer},
		{"DefaultServer", DefaultServer(), wantServer},
		{"listener", c.Listeners[0], Listener{Name: "a", Namespace: "default", Gateway: "switchyard", Address: "0.0.0.0", Port: 80, Protocol: "HTTP"}},
		{"listener namespace kept", c.Listeners[1].Namespace, "team"},
		{"route name", c.Routes[0].Name, "default/r"},
		{"path match", *r0.Matches[0].Path, PathMatch{Type: PathPrefix, Value: "/"}},
		{"header match type", r0.Matches[0].Headers[0].Type, MatchExact},
		{"query match type", r0.Matches[0].QueryParams[0].Type, MatchExact},
		{"backend ref namespace", r0.BackendRefs[0].Name, "default/app"},
		{"weight", *r0.BackendRefs[0].Weight, 1},
		{"explicit zero weight kept", *c.Routes[0].Rules[1].BackendRefs[0].Weight, 0},
		{"ref takes route namespace", c.Routes[1].Rules[0].BackendRefs[0].Name, "team/app2"},
		{"default match on empty rule", *c.Routes[1].Rules[0].Matches[0].Path, PathMatch{Type: PathPrefix, Value: "/"}},
		{"redirect status", r0.Filters[0].RequestRedirect.StatusCode, 302},
		{"path modifier type inferred", r0.Filters[0].RequestRedirect.Path.Type, ReplaceFullPath},
		{"mirror percent", *r0.Filters[1].RequestMirror.Percent, 100},
		{"mirror ref namespace", r0.Filters[1].RequestMirror.BackendRef.Name, "default/app"},
		{"retry", *r0.Retry, Retry{Attempts: 1, Backoff: Duration(25 * time.Millisecond), Codes: []int{502, 503, 504}}},
		{"no retry defaults at 0 attempts", *c.Routes[0].Rules[1].Retry, Retry{}},
		{"lb", static.LoadBalancer.Type, LBRoundRobin},
		{"endpoint weight", static.Endpoints[0].Weight, 1},
		{"endpoint weight kept", c.Backends[1].Static.Endpoints[0].Weight, 3},
		{"health check", *static.HealthCheck, HealthCheck{Path: "/", Interval: Duration(10 * time.Second),
			Timeout: Duration(2 * time.Second), UnhealthyThreshold: 3, HealthyThreshold: 1}},
		{"outlier", *static.OutlierDetection, OutlierDetection{Consecutive5xx: 5, BaseEjectionTime: Duration(30 * time.Second), MaxEjectionPercent: 50}},
		{"pool", static.ConnectionPool, ConnectionPool{MaxConnections: 1024, MaxIdleTime: Duration(60 * time.Second), ConnectTimeout: Duration(5 * time.Second)}},
		{"ai timeout", c.Backends[3].AI.Timeout, Duration(60 * time.Second)},
		{"sim", *c.Backends[3].AI.Sim, SimConfig{OutputTokens: 16, Mode: "lorem"}},
		{"empty listeners attach everywhere", snap.Routes[0].Listeners, []string{"default/switchyard.a", "team/switchyard.b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestRouteProblemsDisableOnlyThatRoute(t *testing.T) {
	yaml := `listeners:
  - {name: web, port: 8080}
routes:
  - name: good
    rules: [{backendRefs: [{name: app}]}]
  - name: missing
    rules:
      - backendRefs: [{name: app}]
      - backendRefs: [{name: app}, {name: missing}]
  - name: nolistener
    listeners: [web, nope]
    rules: [{backendRefs: [{name: app}]}]
  - name: mixed
    rules:
      - backendRefs: [{name: app}, {name: llm}]
  - name: mirror
    rules:
      - filters: [{type: RequestMirror, requestMirror: {backendRef: {name: ghost}}}]
        backendRefs: [{name: app}]
backends:
  - {name: app, static: {endpoints: [{host: h, port: 1}]}}
  - {name: llm, ai: {provider: sim}}
`
	snap, err := LoadBytes("gateway.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	tests := []struct {
		name     string
		route    int
		disabled bool
		reason   string
		problem  string
	}{
		{name: "good", route: 0},
		{name: "unknown backend", route: 1, disabled: true,
			reason:  `routes[1].rules[1].backendRefs[1]: unknown backend "default/missing"`,
			problem: `gateway.yaml:9: routes[1].rules[1].backendRefs[1]: unknown backend "default/missing"`},
		{name: "unknown listener", route: 2, disabled: true,
			reason:  `routes[2].listeners[1]: unknown listener "nope"`,
			problem: `gateway.yaml:11: routes[2].listeners[1]: unknown listener "nope"`},
		{name: "mixed kinds", route: 3, disabled: true,
			reason:  `routes[3].rules[0].backendRefs: rule mixes AI backends (default/llm) and static backends (default/app); use one kind per rule`,
			problem: `gateway.yaml:15: routes[3].rules[0].backendRefs: rule mixes AI backends (default/llm) and static backends (default/app); use one kind per rule`},
		{name: "mirror unknown backend", route: 4, disabled: true,
			reason:  `routes[4].rules[0].filters[0].requestMirror.backendRef: unknown backend "default/ghost"`,
			problem: `gateway.yaml:18: routes[4].rules[0].filters[0].requestMirror.backendRef: unknown backend "default/ghost"`},
	}
	var problems []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ri := snap.Routes[tt.route]
			if ri.Disabled != tt.disabled || ri.Reason != tt.reason {
				t.Errorf("disabled=%v reason=%q, want %v %q", ri.Disabled, ri.Reason, tt.disabled, tt.reason)
			}
		})
		if tt.problem != "" {
			problems = append(problems, tt.problem)
		}
	}
	if got := snap.Problems.Error(); got != strings.Join(problems, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(problems, "\n"))
	}
}

func TestLoadFile(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999")
	snap, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ai := snap.Backend("default/openai").AI
	if ai.BaseURL != "http://127.0.0.1:9999" || ai.Auth.APIKey.Value() != "sk-from-env" {
		t.Errorf("env not substituted: baseURL=%q", ai.BaseURL)
	}
	if snap.Source != "testdata/full.yaml" {
		t.Errorf("Source = %q", snap.Source)
	}
	_, err = Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error = %v, want ErrNotExist", err)
	}
}

// TestLoadReadError checks that a file that cannot be read is named once, first,
// with the reason, and that the cause can still be tested with errors.Is.
func TestLoadReadError(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		path   string
		want   string
		target error
	}{
		{name: "missing", path: filepath.Join(dir, "nope.yaml"),
			want: filepath.Join(dir, "nope.yaml") + ": cannot read the configuration file: no such file or directory", target: os.ErrNotExist},
		{name: "directory", path: dir, want: dir + ": cannot read the configuration file: is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.target)
			}
		})
	}
}

func TestLoadErrorFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".errors.txt"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestCompileInCode(t *testing.T) {
	cfg := &Config{
		Listeners: []Listener{{Name: "web", Port: 8080}},
		Routes:    []Route{{Name: "r", Rules: []RouteRule{{BackendRefs: []BackendRef{{Name: "nope"}}}}}},
		Backends:  []Backend{{Name: "b", Static: &StaticBackend{Endpoints: []Endpoint{{Host: "h", Port: 1}}}}},
	}
	snap, err := Compile("k8s", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Problems.Error(); got != `k8s: routes[0].rules[0].backendRefs[0]: unknown backend "default/nope"` {
		t.Errorf("problems = %q", got)
	}
	cfg = &Config{Server: Server{ReadTimeout: Duration(-time.Second)}}
	if _, err := Compile("k8s", cfg); err == nil || err.Error() != "k8s: server.readTimeout: duration -1s must not be negative" {
		t.Errorf("err = %v", err)
	}
	if _, err := Compile("k8s", nil); err == nil {
		t.Error("nil config compiled")
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"full", &Error{File: "gateway.yaml", Line: 14, Path: "routes[0].rules[1].backendRefs[0]", Msg: `unknown backend "default/missing"`},
			`gateway.yaml:14: routes[0].rules[1].backendRefs[0]: unknown backend "default/missing"`},
		{"no line", &Error{File: "k8s", Path: "backends[0]", Msg: "m"}, "k8s: backends[0]: m"},
		{"no path", &Error{File: "f", Line: 2, Msg: "m"}, "f:2: m"},
		{"no file", &Error{Line: 2, Path: "p", Msg: "m"}, "line 2: p: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := (Errors{tests[1].err, tests[2].err}).Error(); got != "k8s: backends[0]: m\nf:2: m" {
		t.Errorf("Errors = %q", got)
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct{ in, ns, name string }{
		{"a/b", "a", "b"}, {"b", "default", "b"}, {"", "default", ""}, {"a/b/c", "a", "b/c"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if ns, name := SplitName(tt.in); ns != tt.ns || name != tt.name {
				t.Errorf("SplitName(%q) = %q, %q", tt.in, ns, name)
			}
		})
	}
}

// TestDocsExample loads the full example of docs/config.md, so the reference stays true.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	_, s, _ = strings.Cut(s, "## Full example")
	_, s, ok := strings.Cut(s, "```yaml\n")
	s, _, ok2 := strings.Cut(s, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml block after \"## Full example\" in docs/config.md")
	}
	s = strings.NewReplacer("/etc/switchyard/tls.crt", "${CERT}", "/etc/switchyard/tls.key", "${KEY}").Replace(s)
	snap, err := LoadBytes("docs/config.md", []byte(s), envOf(testCerts(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Problems) > 0 {
		t.Fatalf("problems: %v", snap.Problems)
	}
}

// TestFiles checks that every file field is listed for the reload watcher,
// resolved against the configuration's directory.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{
		Listeners: []Listener{{TLS: &ListenerTLS{Certificates: []Certificate{{CertFile: "cert.pem", KeyFile: "key.pem"}}}}},
		Backends: []Backend{
			{Static: &StaticBackend{TLS: &BackendTLS{CAFile: "ca.pem"}}},
			{AI: &AIBackend{TLS: &BackendTLS{CAFile: "ai-ca.pem"}, Auth: BackendAuth{APIKeyFile: "key.txt"}}},
			{AI: &AIBackend{Auth: BackendAuth{GCP: &GCPAuth{CredentialsFile: "/abs/sa.json"}}}},
			{AI: &AIBackend{}},
		},
	}
	resolvePaths(cfg, dir)
	want := []string{filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem"),
		filepath.Join(dir, "ai-ca.pem"), filepath.Join(dir, "key.txt"), "/abs/sa.json"}
	if got := cfg.Files(); !slices.Equal(got, want) {
		t.Errorf("Files() = %q\nwant %q", got, want)
	}
}
