package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGatewayConfigValidates checks every generated configuration with
// `switchyard validate`, built from this tree (not a possibly stale or missing
// bin/switchyard).
func TestGatewayConfigValidates(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "switchyard")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/switchyard").CombinedOutput(); err != nil {
		t.Fatalf("build switchyard: %v\n%s", err, out)
	}
	tests := []struct {
		name string
		g    Gateway
	}{
		{name: "ai", g: Gateway{Kind: "ai"}},
		{name: "ai with access log", g: Gateway{Kind: "ai", AccessLog: true}},
		{name: "policy", g: Gateway{Kind: "policy"}},
		{name: "bedrock", g: Gateway{Kind: "bedrock"}},
		{name: "scale 100x100", g: Gateway{Kind: "scale", Routes: 100, Models: 100}},
		{name: "metering in memory", g: Gateway{Kind: "ai", Metering: "memory"}},
		{name: "metering in redis", g: Gateway{Kind: "ai", Metering: "redis"}},
		{name: "pool with an external picker", g: Gateway{Kind: "pool", Picker: "external"}},
		{name: "pool with the built-in picker", g: Gateway{Kind: "pool", Picker: "builtin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := GatewayConfig(tt.g, Ports{AI: 18080, HTTP: 18081, Upstream: 18082, Redis: 18083, Pool: 18084, Picker: 18085})
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(t.TempDir(), "gw.yaml")
			if err := os.WriteFile(f, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "validate", "-c", f).CombinedOutput()
			if err != nil {
				t.Fatalf("validate: %v\n%s\n--- config:\n%s", err, out, cfg)
			}
		})
	}
}

func TestGatewayConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		g    Gateway
		want string
	}{
		{name: "unknown kind", g: Gateway{Kind: "nope"}, want: "unknown gateway kind"},
		{name: "empty scale", g: Gateway{Kind: "scale"}, want: "at least one route"},
		{name: "metering on another kind", g: Gateway{Kind: "policy", Metering: "memory"}, want: "metering needs the ai"},
		{name: "unknown metering store", g: Gateway{Kind: "ai", Metering: "etcd"}, want: "unknown metering store"},
		{name: "pool without a picker kind", g: Gateway{Kind: "pool"}, want: "unknown picker"},
		{name: "redis without a port", g: Gateway{Kind: "ai", Metering: "redis"}, want: "redis port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := GatewayConfig(tt.g, Ports{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
