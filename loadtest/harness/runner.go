package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/switchyard-ai/switchyard/loadtest/load"
)

// Options configure a harness run.
type Options struct {
	// Switchyard is the gateway binary (bin/switchyard).
	Switchyard string
	// Tools holds the fakeupstream, bareproxy and loadgen binaries.
	Tools string
	// PeerDir holds node_modules/@portkey-ai/gateway; the peer is skipped
	// when it or node is missing.
	PeerDir string
	// Out receives raw/*.json (and the report, written by the caller).
	Out string
	// Reps is the number of repetitions (targets alternate within each).
	Reps int
	// Duration and Warmup are the default measured window and warm-up.
	Duration, Warmup time.Duration
	// ServerCPUs pins the gateway, proxy and peer; ClientCPUs the fake
	// upstream and the generator ("" = no pinning).
	ServerCPUs, ClientCPUs string
	// Log receives progress (loadgen's lines included).
	Log io.Writer
}

// Sample is the result of one target in one repetition of one scenario.
type Sample struct {
	Scenario string       `json:"scenario"`
	Target   Target       `json:"target"`
	Rep      int          `json:"rep"`
	Result   *load.Result `json:"result"`
	// Records, in a Scenario.Records scenario, compares the usage records
	// the gateway wrote with the requests it served.
	Records *Records `json:"records,omitempty"`
}

// Server returns the measured server process (the target), if any.
func (s Sample) Server() (load.ProcResult, bool) { return s.proc("server") }

// Upstream returns the fake upstream's process measurement.
func (s Sample) Upstream() (load.ProcResult, bool) { return s.proc("upstream") }

func (s Sample) proc(name string) (load.ProcResult, bool) {
	for _, p := range s.Result.Procs {
		if p.Name == name {
			return p, true
		}
	}
	return load.ProcResult{}, false
}

// PeerPath returns the peer gateway's entry point under dir.
func PeerPath(dir string) string {
	return filepath.Join(dir, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js")
}

// PeerAvailable says whether the peer can run, and if not why.
func PeerAvailable(dir string) (bool, string) {
	if _, err := exec.LookPath("node"); err != nil {
		return false, "node is not installed"
	}
	if _, err := os.Stat(PeerPath(dir)); err != nil {
		return false, "@portkey-ai/gateway is not installed under " + dir + " (run.sh installs it with npm)"
	}
	return true, ""
}

// Run runs every scenario Reps times and returns the samples. A failed
// scenario is reported in the returned error and the others still run.
func Run(ctx context.Context, o Options, scenarios []Scenario) ([]Sample, error) {
	if err := os.MkdirAll(filepath.Join(o.Out, "raw"), 0o755); err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	logs, err := os.MkdirTemp("", "switchyard-bench-")
	if err != nil {
		return nil, fmt.Errorf("harness: temp dir: %w", err)
	}
	fmt.Fprintf(o.Log, "bench: server logs and configs in %s\n", logs)
	peerOK, why := PeerAvailable(o.PeerDir)
	if !peerOK {
		fmt.Fprintf(o.Log, "bench: peer skipped: %s\n", why)
	}
	var out []Sample
	var errs []error
	for _, sc := range scenarios {
		if why := sc.Unavailable(); why != "" {
			fmt.Fprintf(o.Log, "bench: scenario %s skipped: %s\n", sc.Name, why)
			continue
		}
		targets := sc.Targets
		if !peerOK {
			targets = slices.DeleteFunc(slices.Clone(targets), func(t Target) bool { return t == TargetPeer })
		}
		reps := o.Reps
		if o.Reps > 1 && sc.Reps > reps {
			reps = sc.Reps
		}
		for rep := 0; rep < reps; rep++ {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			dir := filepath.Join(logs, fmt.Sprintf("%s-%d", sc.Name, rep))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return out, fmt.Errorf("harness: %w", err)
			}
			ss, err := runRep(ctx, o, sc, targets, rep, dir)
			out = append(out, ss...)
			if err != nil { // report it and go on with the next scenario
				err = fmt.Errorf("harness: scenario %s rep %d: %w", sc.Name, rep+1, err)
				fmt.Fprintf(o.Log, "bench: %v\n", err)
				errs = append(errs, err)
				break
			}
		}
	}
	return out, errors.Join(errs...)
}

// servers are the processes of one repetition.
type servers struct {
	up, floor, gw, peer, redis, picker *proc
	ports                              Ports
	admin                              string // the gateway's admin address
}

func (s *servers) stop() {
	for _, p := range []*proc{s.peer, s.gw, s.floor, s.redis, s.picker, s.up} {
		p.stop()
	}
}

func runRep(ctx context.Context, o Options, sc Scenario, targets []Target, rep int, dir string) ([]Sample, error) {
	l := &launcher{dir: dir}
	var s servers
	defer s.stop()
	up := sc.Up
	if up.Chunks == 0 {
		up.Chunks = 20
	}
	upArgs := []string{"-chunks", strconv.Itoa(up.Chunks), "-gap", up.Gap.String(), "-delay", up.Delay.String()}
	if up.Response != "" {
		upArgs = append(upArgs, "-response", up.Response)
	}
	if up.MCP {
		upArgs = append(upArgs, "-mcp")
	}
	var err error
	s.up, err = l.start(ctx, "upstream", sc.upstreamCPUs(o), nil, true, filepath.Join(o.Tools, "fakeupstream"), upArgs...)
	if err != nil {
		return nil, err
	}
	s.ports.Upstream = s.up.addrPort()
	if slices.Contains(targets, TargetFloor) {
		if s.floor, err = l.start(ctx, "floor", o.ServerCPUs, sc.serverEnv(), true, filepath.Join(o.Tools, "bareproxy"),
			"-upstream", s.up.addr); err != nil {
			return nil, err
		}
	}
	if sc.Gateway.Kind == "pool" && sc.Gateway.Picker == "external" {
		// The picker is the cluster's, not the gateway's: the generator's core.
		if s.picker, err = l.start(ctx, "picker", o.ClientCPUs, nil, true, filepath.Join(o.Tools, "fakepicker"),
			"-endpoint", s.up.addr); err != nil {
			return nil, err
		}
		s.ports.Picker = s.picker.addrPort()
	}
	if sc.Gateway.Metering == "redis" {
		if err := startRedis(ctx, o, l, sc, &s); err != nil {
			return nil, err
		}
	}
	if slices.Contains(targets, TargetSwitchyard) || slices.Contains(targets, TargetSwitchyardHTTP) ||
		slices.Contains(targets, TargetSwitchyardPool) {
		if err := startGateway(ctx, o, l, sc, dir, &s); err != nil {
			return nil, err
		}
	}
	if slices.Contains(targets, TargetPeer) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if s.peer, err = l.start(ctx, "peer", o.ServerCPUs, nil, false, "node", PeerPath(o.PeerDir),
			"--port="+strconv.Itoa(port), "--headless"); err != nil {
			return nil, err
		}
		s.peer.addr = "127.0.0.1:" + strconv.Itoa(port)
		if err := waitHTTP(ctx, "http://"+s.peer.addr+"/", 20*time.Second); err != nil {
			return nil, err
		}
	}
	// Alternate: each repetition starts with a different target.
	order := slices.Clone(targets)
	if n := len(order); n > 0 {
		k := rep % n
		order = append(order[k:], order[:k]...)
	}
	var out []Sample
	for _, t := range order {
		res, err := runLoad(ctx, o, sc, t, &s, filepath.Join(o.Out, "raw", fmt.Sprintf("%s.%s.%d.json", sc.Name, t, rep+1)))
		if err != nil {
			return out, fmt.Errorf("%s: %w", t, err)
		}
		fmt.Fprintf(o.Log, "bench: %-22s %-16s rep %d: %9.0f req/s  p50 %7.3f ms  p99 %8.3f ms  errors %d  dropped %d\n",
			sc.Name, t, rep+1, res.Throughput, res.Latency.P50, res.Latency.P99, res.Errors, res.Dropped)
		smp := Sample{Scenario: sc.Name, Target: t, Rep: rep + 1, Result: res}
		if sc.Records && t == TargetSwitchyard {
			rec, err := countRecords(ctx, s.admin, res)
			if err != nil {
				return out, fmt.Errorf("%s: usage records: %w", t, err)
			}
			fmt.Fprintf(o.Log, "bench: %-22s %-16s rep %d: served %d (answered %d), usage records %d (recorder wrote %d, dropped %d) after %s\n",
				sc.Name, t, rep+1, rec.Served, rec.Answered, rec.Written, rec.RecorderWritten, rec.RecorderDropped,
				rec.Settled.Round(time.Millisecond))
			smp.Records = rec
		}
		out = append(out, smp)
	}
	return out, nil
}

// upstreamCPUs returns the CPUs of the scenario's fake upstream: the
// generator's, or the servers' when it shares their core.
func (sc Scenario) upstreamCPUs(o Options) string {
	if sc.Up.SharedCore {
		return o.ServerCPUs
	}
	return o.ClientCPUs
}

// serverEnv returns the environment added to the floor's and the gateway's.
func (sc Scenario) serverEnv() []string {
	if sc.GOMAXPROCS > 0 {
		return []string{"GOMAXPROCS=" + strconv.Itoa(sc.GOMAXPROCS)}
	}
	return nil
}

func (p *proc) addrPort() int {
	_, port, _ := splitHostPort(p.addr)
	return port
}

func splitHostPort(addr string) (string, int, error) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			n, err := strconv.Atoi(addr[i+1:])
			return addr[:i], n, err
		}
	}
	return "", 0, fmt.Errorf("harness: no port in %q", addr)
}

func startGateway(ctx context.Context, o Options, l *launcher, sc Scenario, dir string, s *servers) error {
	// Distinct ports: two listeners given one port made a run fail.
	ps, err := freePorts(4)
	if err != nil {
		return err
	}
	s.ports.AI, s.ports.HTTP = ps[0], ps[1]
	admin := ps[2]
	if sc.Gateway.Kind == "pool" {
		s.ports.Pool = ps[3]
	}
	cfg, err := GatewayConfig(sc.Gateway, s.ports)
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("harness: write config: %w", err)
	}
	adminAddr := "127.0.0.1:" + strconv.Itoa(admin)
	s.admin = adminAddr
	// The metering store (SQLite file, usage spool) goes to the
	// repetition's own directory: every run starts empty.
	if s.gw, err = l.start(ctx, "switchyard", o.ServerCPUs, sc.serverEnv(), false, o.Switchyard, "run", "-c", file, "--admin", adminAddr,
		"--log-level", "warn", "--data-dir", filepath.Join(dir, "data")); err != nil {
		return err
	}
	return waitHTTP(ctx, "http://"+adminAddr+"/readyz", 60*time.Second)
}

// runLoad runs loadgen against target t and returns its parsed results.
func runLoad(ctx context.Context, o Options, sc Scenario, t Target, s *servers, file string) (*load.Result, error) {
	ld := sc.Load
	dur, warm := o.Duration, o.Warmup
	if ld.Duration > 0 {
		dur = ld.Duration
	}
	if ld.Warmup > 0 {
		warm = ld.Warmup
	}
	path := "/v1/chat/completions"
	var addr string
	var server *proc
	var headers []string
	switch t {
	case TargetDirect:
		addr = s.up.addr
	case TargetFloor:
		addr, server = s.floor.addr, s.floor
	case TargetSwitchyard:
		addr, server = "127.0.0.1:"+strconv.Itoa(s.ports.AI), s.gw
		if sc.Gateway.Kind == "policy" {
			headers = append(headers, "x-team: blue", "x-internal: secret")
		}
	case TargetSwitchyardHTTP:
		addr, server = "127.0.0.1:"+strconv.Itoa(s.ports.HTTP), s.gw
	case TargetSwitchyardPool:
		addr, server = "127.0.0.1:"+strconv.Itoa(s.ports.Pool), s.gw
	case TargetPeer:
		addr, server = s.peer.addr, s.peer
		headers = append(headers, "x-portkey-provider: openai", "authorization: Bearer sk-loadtest",
			"x-portkey-custom-host: http://"+s.up.addr+"/v1")
	default:
		return nil, fmt.Errorf("unknown target %q", t)
	}
	args := []string{"-url", "http://" + addr + path, "-o", file, "-d", dur.String(), "-warmup", warm.String(),
		"-c", strconv.Itoa(ld.Conns), "-body-size", strconv.Itoa(ld.BodySize), "-model", sc.model(),
		"-pid", "upstream=" + strconv.Itoa(s.up.pid())}
	if ld.Shape != "" {
		args = append(args, "-shape", ld.Shape)
	}
	if sc.Gateway.Metering != "" && t == TargetSwitchyard {
		args = append(args, "-key", MeterKey)
	}
	if server != nil {
		args = append(args, "-pid", "server="+strconv.Itoa(server.pid()))
	}
	if ld.Open {
		args = append(args, "-mode", "open", "-rate", strconv.FormatFloat(ld.Rate, 'f', -1, 64))
	}
	if ld.Stream {
		up := sc.Up
		if up.Chunks == 0 {
			up.Chunks = 20
		}
		args = append(args, "-stream", "-expect-chunks", strconv.Itoa(up.Chunks), "-chunk-gap", up.Gap.String())
	}
	if ld.RampUp > 0 {
		args = append(args, "-ramp", ld.RampUp.String())
	}
	if sc.Up.MCP { // tools/call in a session opened now, through the target
		body, hdrs, err := mcpSession(ctx, "http://"+addr+"/mcp", filepath.Dir(file))
		if err != nil {
			return nil, err
		}
		args[1] = "http://" + addr + "/mcp"
		args = append(args, "-body-file", body, "-jsonrpc")
		headers = append(headers, hdrs...)
	}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	name := filepath.Join(o.Tools, "loadgen")
	if o.ClientCPUs != "" {
		args = append([]string{"-c", o.ClientCPUs, name}, args...)
		name = "taskset"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = o.Log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	var res load.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("decode %s: %w", file, err)
	}
	return &res, nil
}
