package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestInferencePoolErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "endpoints, ports, protocol, picker",
			yaml: okListener + "backends:\n  - name: pool\n    inferencePool:\n      endpoints: [\"10.0.0.1\", \"h:0\", \":80\", \"\"]\n" +
				"      appProtocol: http2\n" +
				"      endpointPicker: {address: epp, failureMode: Sometimes}\n" +
				"      picker: {metricsPath: metrics}\n",
			want: []string{
				`t.yaml:6: backends[0].inferencePool.endpoints[0]: endpoint "10.0.0.1" has no port and the pool sets no targetPorts`,
				`t.yaml:6: backends[0].inferencePool.endpoints[1]: endpoint "h:0": port must be between 1 and 65535`,
				`t.yaml:6: backends[0].inferencePool.endpoints[2]: endpoint ":80" has no host`,
				`t.yaml:6: backends[0].inferencePool.endpoints[3]: endpoint is empty`,
				`t.yaml:7: backends[0].inferencePool.appProtocol: unknown appProtocol "http2" (use http or kubernetes.io/h2c)`,
				`t.yaml:8: backends[0].inferencePool.endpointPicker.address: picker address "epp" must be host:port`,
				`t.yaml:8: backends[0].inferencePool.endpointPicker.failureMode: unknown failureMode "Sometimes" (use FailClose or FailOpen)`,
				`t.yaml:9: backends[0].inferencePool.picker.metricsPath: metricsPath "metrics" must begin with "/"`,
			},
		},
		{
			name: "no endpoints, too many ports",
			yaml: okListener + "backends:\n  - name: pool\n    inferencePool:\n      targetPorts: [1, 2, 3, 4, 5, 6, 7, 8, 70000]\n",
			want: []string{
				`t.yaml:5: backends[0].inferencePool.endpoints: inferencePool needs at least one endpoint (host or host:port)`,
				`t.yaml:6: backends[0].inferencePool.targetPorts: inferencePool takes 1 to 8 targetPorts, not 9`,
				`t.yaml:6: backends[0].inferencePool.targetPorts[8]: target port 70000 must be between 1 and 65535`,
			},
		},
		{
			name: "pool and ai together",
			yaml: okListener + "backends:\n  - name: pool\n    ai: {provider: sim}\n    inferencePool: {endpoints: [\"h:1\"]}\n",
			want: []string{`t.yaml:4: backends[0]: backend must set exactly one of static, ai, inferencePool, mcp or a2a, not several`},
		},
		{
			name: "endpoints on a ref",
			yaml: okListener + "routes:\n  - name: r\n    rules: [{backendRefs: [{name: pool, endpoints: [\"10.0.0.1\", \"10.0.0.9:1\"]}]}]\n" +
				"  - name: s\n    rules: [{backendRefs: [{name: app, endpoints: [\"h:2\"]}]}]\n" +
				"backends:\n  - name: pool\n    inferencePool: {endpoints: [\"10.0.0.1:8000\"]}\n  - name: app\n    static: {endpoints: [{host: h, port: 2}]}\n",
			want: []string{
				`t.yaml:5: routes[0].rules[0].backendRefs[0].endpoints[1]: "10.0.0.9:1" names none of the pool's endpoints`,
				`t.yaml:7: routes[1].rules[0].backendRefs[0].endpoints: endpoints apply to an inferencePool backend only`,
			},
		},
		{
			name: "pool and static in one rule",
			yaml: okListener + "routes:\n  - name: r\n    rules: [{backendRefs: [{name: pool}, {name: app}]}]\n" +
				"backends:\n  - name: pool\n    inferencePool: {endpoints: [\"h:1\"]}\n  - name: app\n    static: {endpoints: [{host: h, port: 2}]}\n",
			want: []string{`t.yaml:5: routes[0].rules[0].backendRefs: rule mixes AI backends (default/pool) and static backends (default/app); use one kind per rule`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := LoadBytes("t.yaml", []byte(tt.yaml), envOf(nil))
			if err == nil {
				if len(snap.Problems) > 0 {
					err = snap.Problems
				} else {
					t.Fatalf("loaded without error; want %q", tt.want)
				}
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// TestInferencePoolAppProtocols: both protocols of the Inference Extension
// load as they are; none means http.
func TestInferencePoolAppProtocols(t *testing.T) {
	for _, tt := range []struct{ set, want string }{{"", AppProtocolHTTP}, {"http", AppProtocolHTTP}, {"kubernetes.io/h2c", AppProtocolH2C}} {
		t.Run(tt.want+"/"+tt.set, func(t *testing.T) {
			y := okListener + "backends:\n  - name: pool\n    inferencePool:\n      endpoints: [\"10.0.0.1:8000\"]\n"
			if tt.set != "" {
				y += "      appProtocol: " + tt.set + "\n"
			}
			snap, err := LoadBytes("t.yaml", []byte(y), envOf(nil))
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Problems) > 0 {
				t.Fatal(snap.Problems)
			}
			if got := snap.Backends["default/pool"].InferencePool.AppProtocol; got != tt.want {
				t.Errorf("appProtocol %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInferencePoolDefaultsAndAddresses(t *testing.T) {
	yaml := okListener + "routes:\n  - name: r\n    rules: [{backendRefs: [{name: pool}, {name: cloud, priority: 1}]}]\n" +
		"backends:\n  - name: pool\n    inferencePool:\n      endpoints: [\"10.0.0.1\", \"10.0.0.2:9000\", \"fd00::1\", \"10.0.0.1\"]\n" +
		"      targetPorts: [8000, 8001]\n      endpointPicker: {address: \"epp:9002\", tls: {insecureSkipVerify: true}}\n" +
		"  - name: cloud\n    ai: {provider: sim}\n"
	snap, err := LoadBytes("t.yaml", []byte(yaml), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Problems) > 0 {
		t.Fatal(snap.Problems)
	}
	ip := snap.Backends["default/pool"].InferencePool
	want := []string{"10.0.0.1:8000", "10.0.0.1:8001", "10.0.0.2:9000", "[fd00::1]:8000", "[fd00::1]:8001"}
	if got := ip.Addresses(); !reflect.DeepEqual(got, want) {
		t.Errorf("addresses %v, want %v", got, want)
	}
	if !ip.External() || ip.FailureMode() != FailClose || !ip.EndpointPicker.TLS.On() {
		t.Errorf("picker: external %v, mode %s, tls %v", ip.External(), ip.FailureMode(), ip.EndpointPicker.TLS.On())
	}
	if ip.EndpointPicker.Timeout.D() != 5*time.Second || ip.AppProtocol != AppProtocolHTTP || ip.Picker.PrefixBytes != 256 ||
		ip.Picker.MetricsPath != "/metrics" {
		t.Errorf("defaults: %+v %+v", ip.EndpointPicker, ip.Picker)
	}
	off := false
	if (&PickerTLS{Enabled: &off}).On() || (*PickerTLS)(nil).On() {
		t.Error("tls with enabled: false, or no tls block, is on")
	}
}
