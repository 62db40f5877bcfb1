package harness

import (
	"slices"
	"testing"
)

func TestDefaultScenarios(t *testing.T) {
	byName := map[string]Scenario{}
	for _, sc := range Default() {
		if _, dup := byName[sc.Name]; dup {
			t.Fatalf("scenario %s twice", sc.Name)
		}
		byName[sc.Name] = sc
	}
	tests := []struct {
		name       string
		shape      string
		response   string
		shared     bool
		gomaxprocs int
		targets    []Target
	}{
		{name: "passthrough", targets: []Target{TargetDirect, TargetFloor, TargetSwitchyard, TargetSwitchyardHTTP, TargetPeer}},
		{name: "passthrough-real", shape: "sdk", response: "openai", gomaxprocs: 1,
			targets: []Target{TargetDirect, TargetFloor, TargetSwitchyard, TargetSwitchyardHTTP}},
		{name: "passthrough-shared", shape: "sdk", response: "openai", shared: true, gomaxprocs: 1,
			targets: []Target{TargetDirect, TargetFloor, TargetSwitchyard, TargetSwitchyardHTTP}},
		{name: "body-1k", targets: []Target{TargetFloor, TargetSwitchyard}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, ok := byName[tt.name]
			if !ok {
				t.Fatal("missing")
			}
			if sc.Load.Shape != tt.shape || sc.Up.Response != tt.response || sc.Up.SharedCore != tt.shared ||
				sc.GOMAXPROCS != tt.gomaxprocs || !slices.Equal(sc.Targets, tt.targets) {
				t.Fatalf("got shape %q response %q shared %t GOMAXPROCS %d targets %v", sc.Load.Shape, sc.Up.Response,
					sc.Up.SharedCore, sc.GOMAXPROCS, sc.Targets)
			}
		})
	}
}

func TestPlacement(t *testing.T) {
	o := Options{ServerCPUs: "0", ClientCPUs: "1"}
	tests := []struct {
		name    string
		sc      Scenario
		opts    Options
		wantUp  string
		wantEnv []string
	}{
		{name: "default", sc: Scenario{}, opts: o, wantUp: "1"},
		{name: "shared core", sc: Scenario{Up: Upstream{SharedCore: true}}, opts: o, wantUp: "0"},
		{name: "GOMAXPROCS", sc: Scenario{GOMAXPROCS: 1}, opts: o, wantUp: "1", wantEnv: []string{"GOMAXPROCS=1"}},
		{name: "not pinned", sc: Scenario{Up: Upstream{SharedCore: true}, GOMAXPROCS: 1}, opts: Options{},
			wantUp: "", wantEnv: []string{"GOMAXPROCS=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sc.upstreamCPUs(tt.opts); got != tt.wantUp {
				t.Errorf("upstream CPUs %q, want %q", got, tt.wantUp)
			}
			if got := tt.sc.serverEnv(); !slices.Equal(got, tt.wantEnv) {
				t.Errorf("server env %q, want %q", got, tt.wantEnv)
			}
		})
	}
}
