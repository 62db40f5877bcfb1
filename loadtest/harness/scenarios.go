// Package harness runs the load-test scenarios: it starts the fake upstream,
// the bare proxy, Switchyard and the peer gateway, drives them with loadgen,
// and writes the report (markdown table and latency plot).
package harness

import (
	"fmt"
	"time"
)

// Target is what a scenario sends its load to.
type Target string

// The targets. TargetSwitchyardHTTP is Switchyard forwarding through a static
// (plain HTTP) backend rather than an AI backend.
const (
	TargetDirect         Target = "direct"
	TargetFloor          Target = "floor"
	TargetSwitchyard     Target = "switchyard"
	TargetSwitchyardHTTP Target = "switchyard-http"
	TargetPeer           Target = "peer"
	// TargetSwitchyardPool is Switchyard through an inferencePool backend
	// (the "pool" gateway kind's second AI route) over the same upstream.
	TargetSwitchyardPool Target = "switchyard-pool"
)

// Gateway selects the Switchyard configuration generated for a scenario.
type Gateway struct {
	// Kind is "ai" (one openai-compatible route), "policy" (header match and
	// filters, model routing over three backends), "bedrock" (translation to
	// the Converse API), "scale" (Routes routes and Models backends) or
	// "mcp" (an MCP route over the MCP upstream).
	Kind string
	// AccessLog turns the access log on (it is off for throughput runs).
	AccessLog bool
	// Routes and Models size a "scale" configuration.
	Routes, Models int
	// Picker, on the "pool" kind (the "ai" route plus an inferencePool route
	// over the same upstream on its own listener), is "external" (the
	// harness's fakepicker, an ext_proc server on the generator's core) or
	// "builtin".
	Picker string
	// Metering, on the "ai" kind, puts the metering chain on the route (API
	// key auth, a token rate limit, a money budget, prices; usage records):
	// "memory" keeps the counters in memory and records in the embedded
	// SQLite store, "redis" the counters in a redis-server the harness
	// starts ("" = no metering).
	Metering string
}

// Upstream is the shape of the fake upstream's answers.
type Upstream struct {
	Chunks int
	Gap    time.Duration
	Delay  time.Duration
	// Response is the fake's non-streamed answer (fakeupstream -response):
	// "" for the fixed 643-byte one, "openai" for a 591-byte answer shaped
	// as OpenAI's today.
	Response string
	// MCP makes the fake upstream an MCP server (the official Go SDK) at
	// /mcp; the load is tools/call in one session.
	MCP bool
	// SharedCore runs the fake upstream on the servers' CPUs (the gateway's
	// core) instead of the generator's, as when a model server and the
	// gateway share a machine.
	SharedCore bool
}

// Load is the load of a scenario (see loadgen's flags).
type Load struct {
	Open     bool
	Conns    int
	Rate     float64
	Stream   bool
	BodySize int
	// Shape is loadgen's -shape: "" or "padded" for a chat body of BodySize
	// bytes, "sdk" for the short body and headers of an OpenAI SDK call.
	Shape string
	// Duration and Warmup override the harness defaults when set.
	Duration, Warmup time.Duration
	RampUp           time.Duration
}

// Scenario is one row group of the report. Adding one takes a few lines in
// Default.
type Scenario struct {
	Name    string
	Title   string
	Targets []Target
	Load    Load
	Up      Upstream
	Gateway Gateway
	// Memory marks a scenario whose figure is RSS growth per 1,000 streams.
	Memory bool
	// GOMAXPROCS, when set, is the GOMAXPROCS of the floor and the gateway
	// (pinned to one CPU they use one anyway; set it so that an unpinned run
	// on a larger machine measures the same).
	GOMAXPROCS int
	// Records compares, after each Switchyard run, the usage records the
	// gateway wrote (admin GET /usage, once flushed) with the 2xx responses
	// the generator received over the whole run.
	Records bool
	// Reps, when above the run's repetitions (and the run has more than one),
	// repeats this scenario more often: for figures whose run-to-run noise is
	// large against the differences they judge (time to first token).
	Reps int
}

// MaxStreams bounds the concurrent streams of the memory scenarios: a proxy
// holds two descriptors per stream (client and upstream) and the hard
// RLIMIT_NOFILE here is 20,000.
const MaxStreams = 9500

// PoolRate is the request rate (per second) of the pool scenario's two
// routes: one the external picker (on the generator's core) sustains.
const PoolRate = 1500

// MeterRate is the request rate (per second) at which the metering scenario
// compares the metering chain with the floor: one the metering gateway holds
// here with room to spare (it peaks at 28,000 to 34,000; at 25,000 a loaded
// machine's runs queued, p99 near 200 ms).
const MeterRate = 20000

// Default returns the scenario table of `make bench`.
func Default() []Scenario {
	all := []Target{TargetDirect, TargetFloor, TargetSwitchyard}
	// Long streams that send rarely: the memory scenarios measure what open
	// streams hold, with an upstream that is nowhere near its CPU limit (200
	// chunks 25 ms apart saturated the fake upstream at 9,500 streams).
	longStream := Upstream{Chunks: 32, Gap: 250 * time.Millisecond}
	return []Scenario{
		{Name: "passthrough", Title: "max throughput, closed loop, 64 connections",
			Targets: []Target{TargetDirect, TargetFloor, TargetSwitchyard, TargetSwitchyardHTTP, TargetPeer},
			Load:    Load{Conns: 64, BodySize: 1024}, Gateway: Gateway{Kind: "ai"}},
		// The exchange: an SDK call with max_tokens, an answer shaped
		// as OpenAI's today, one core per server process.
		{Name: "passthrough-real", Title: "SDK-shaped request (max_tokens, SDK headers), 591-byte OpenAI-shaped answer, " +
			"GOMAXPROCS=1, 64 connections",
			Targets: []Target{TargetDirect, TargetFloor, TargetSwitchyard, TargetSwitchyardHTTP},
			Load:    Load{Conns: 64, Shape: "sdk"}, Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "ai"},
			GOMAXPROCS: 1},
		{Name: "passthrough-shared", Title: "as passthrough-real, the fake upstream on the gateway's core",
			Targets: []Target{TargetDirect, TargetFloor, TargetSwitchyard, TargetSwitchyardHTTP},
			Load:    Load{Conns: 64, Shape: "sdk"}, Up: Upstream{Response: "openai", SharedCore: true},
			Gateway: Gateway{Kind: "ai"}, GOMAXPROCS: 1},
		{Name: "passthrough-accesslog", Title: "as passthrough, access log on (to a file)",
			Targets: []Target{TargetFloor, TargetSwitchyard},
			Load:    Load{Conns: 64, BodySize: 1024}, Gateway: Gateway{Kind: "ai", AccessLog: true}},
		{Name: "latency-c1", Title: "added latency, one connection",
			Targets: []Target{TargetDirect, TargetFloor, TargetSwitchyard, TargetPeer},
			Load:    Load{Conns: 1, BodySize: 1024}, Gateway: Gateway{Kind: "ai"}},
		{Name: "rate-1k", Title: "open loop, 1,000 requests/s",
			Targets: all, Load: Load{Open: true, Rate: 1000, Conns: 256, BodySize: 1024}, Gateway: Gateway{Kind: "ai"}},
		{Name: "rate-5k", Title: "open loop, 5,000 requests/s",
			Targets: all, Load: Load{Open: true, Rate: 5000, Conns: 512, BodySize: 1024}, Gateway: Gateway{Kind: "ai"}},
		{Name: "ttft-c1", Title: "time to first token: one connection, one-chunk streams back to back (judges the TTFT target: little noise)",
			Targets: all, Load: Load{Conns: 1, Stream: true, BodySize: 1024},
			Up: Upstream{Chunks: 1}, Gateway: Gateway{Kind: "ai"}},
		{Name: "stream", Title: "SSE, 20 chunks 5 ms apart, 16 connections (7 repetitions of 1.5 s: TTFT varies by ±100 µs between runs)",
			Targets: all, Load: Load{Conns: 16, Stream: true, BodySize: 1024, Duration: 1500 * time.Millisecond},
			Up: Upstream{Chunks: 20, Gap: 5 * time.Millisecond}, Gateway: Gateway{Kind: "ai"}, Reps: 7},
		{Name: "memory-1k", Title: "1,000 concurrent 8 s streams held open (a chunk every 250 ms; RSS growth over idle; no stream completes in the window)",
			Targets: []Target{TargetFloor, TargetSwitchyard}, Memory: true,
			Load: Load{Conns: 1000, Stream: true, BodySize: 1024, Warmup: 1500 * time.Millisecond, RampUp: time.Second},
			Up:   longStream, Gateway: Gateway{Kind: "ai"}},
		{Name: "memory-10k", Title: "9,500 concurrent 8 s streams held open (a chunk every 250 ms; RSS growth over idle; fd hard limit 20,000)",
			Targets: []Target{TargetFloor, TargetSwitchyard}, Memory: true,
			Load: Load{Conns: MaxStreams, Stream: true, BodySize: 1024, Warmup: 3 * time.Second, RampUp: 2 * time.Second},
			Up:   longStream, Gateway: Gateway{Kind: "ai"}},
		{Name: "policy", Title: "policy chain: header match + filters, model routing over 3 backends, usage, metrics",
			Targets: []Target{TargetFloor, TargetSwitchyard}, Load: Load{Conns: 64, BodySize: 1024},
			Gateway: Gateway{Kind: "policy"}},
		{Name: "translation", Title: "OpenAI client to the Bedrock Converse fake (SigV4, translation)",
			Targets: []Target{TargetFloor, TargetSwitchyard}, Load: Load{Conns: 64, BodySize: 1024},
			Gateway: Gateway{Kind: "bedrock"}},
		{Name: "scale-1", Title: "1 route, 1 model", Targets: []Target{TargetSwitchyard},
			Load: Load{Conns: 64, BodySize: 1024}, Gateway: Gateway{Kind: "scale", Routes: 1, Models: 1}},
		{Name: "scale-routes-100", Title: "100 routes", Targets: []Target{TargetSwitchyard},
			Load: Load{Conns: 64, BodySize: 1024}, Gateway: Gateway{Kind: "scale", Routes: 100, Models: 1}},
		{Name: "scale-routes-10k", Title: "10,000 routes", Targets: []Target{TargetSwitchyard},
			Load: Load{Conns: 64, BodySize: 1024}, Gateway: Gateway{Kind: "scale", Routes: 10000, Models: 1}},
		{Name: "scale-models-100", Title: "100 models (backends) on one route", Targets: []Target{TargetSwitchyard},
			Load: Load{Conns: 64, BodySize: 1024}, Gateway: Gateway{Kind: "scale", Routes: 1, Models: 100}},
		{Name: "scale-models-10k", Title: "10,000 models (backends) on one route", Targets: []Target{TargetSwitchyard},
			Load: Load{Conns: 64, BodySize: 1024}, Gateway: Gateway{Kind: "scale", Routes: 1, Models: 10000}},
		// The metering chain (issue: token-metered access) on
		// passthrough-real's exchange: API key auth, a token rate limit and
		// a money budget reserved and settled per request (never refusing),
		// prices, a usage record per request, metrics. The floor and the
		// gateway get the same request rate, as in the pool scenario: at
		// max rate the gateway runs at two thirds of the floor's rate, and
		// on this 2-core VM every system call that wakes the less busy
		// generator and upstream costs more (the counts per request are
		// the same), which made the chain look half again as dear.
		// metering-max is the old closed-loop comparison, reported.
		{Name: "metering", Title: fmt.Sprintf("as passthrough-real through the metering chain: key auth, token rate limit, money budget, "+
			"prices, usage records, metrics (counters in memory, records in the embedded SQLite store), floor and gateway at %d req/s "+
			"(open loop)", MeterRate),
			Targets: []Target{TargetFloor, TargetSwitchyard}, Load: Load{Open: true, Rate: MeterRate, Conns: 64, Shape: "sdk"},
			Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "ai", Metering: "memory"}, GOMAXPROCS: 1},
		{Name: "metering-max", Title: "as metering at max rate (64 connections, closed loop): each at its own throughput",
			Targets: []Target{TargetFloor, TargetSwitchyard}, Load: Load{Conns: 64, Shape: "sdk"},
			Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "ai", Metering: "memory"}, GOMAXPROCS: 1},
		{Name: "metering-redis", Title: "as metering, the counters in a local redis-server (on the generator's core)",
			Targets: []Target{TargetFloor, TargetSwitchyard}, Load: Load{Conns: 64, Shape: "sdk"},
			Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "ai", Metering: "redis"}, GOMAXPROCS: 1},
		{Name: "metering-c1", Title: "as metering, one connection (the in-memory reference of metering-redis-c1)",
			Targets: all, Load: Load{Conns: 1, Shape: "sdk"},
			Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "ai", Metering: "memory"}, GOMAXPROCS: 1},
		{Name: "metering-redis-c1", Title: "as metering-redis, one connection (Redis round trips on the request path)",
			Targets: all, Load: Load{Conns: 1, Shape: "sdk"},
			Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "ai", Metering: "redis"}, GOMAXPROCS: 1},
		{Name: "metering-records", Title: "as metering at max rate for 5 s: usage records written (admin GET /usage once flushed) " +
			"against 2xx responses received over the whole run",
			Targets: []Target{TargetSwitchyard}, Load: Load{Conns: 64, Shape: "sdk", Duration: 5 * time.Second},
			Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "ai", Metering: "memory"}, GOMAXPROCS: 1, Records: true},
		// The inference extension: the same exchange through an
		// inferencePool whose endpoint an external picker (ext_proc over
		// gRPC, one stream per request) chooses, against the plain AI route.
		// Both routes get the same request rate: CPU per request depends on
		// the rate (a busy server batches its wake-ups and system calls), and
		// at max rate the pool runs at a fraction of the plain route's (the
		// picker shares the generator's core), which made the pool's figure
		// up to twice as dear as at the plain route's rate. pool-max is the
		// old closed-loop comparison, reported.
		{Name: "pool", Title: fmt.Sprintf("as passthrough-real through an inferencePool with an external endpoint picker (ext_proc), "+
			"against the plain AI route, both at %d req/s (open loop)", PoolRate),
			Targets: []Target{TargetFloor, TargetSwitchyard, TargetSwitchyardPool},
			Load:    Load{Open: true, Rate: PoolRate, Conns: 64, Shape: "sdk"},
			Up:      Upstream{Response: "openai"}, Gateway: Gateway{Kind: "pool", Picker: "external"}, GOMAXPROCS: 1},
		{Name: "pool-max", Title: "as pool at max rate (64 connections, closed loop): each route at its own throughput",
			Targets: []Target{TargetSwitchyard, TargetSwitchyardPool}, Load: Load{Conns: 64, Shape: "sdk"},
			Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "pool", Picker: "external"}, GOMAXPROCS: 1},
		{Name: "pool-c1", Title: "as pool, one connection: the picker's added latency",
			Targets: []Target{TargetDirect, TargetSwitchyard, TargetSwitchyardPool}, Load: Load{Conns: 1, Shape: "sdk"},
			Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "pool", Picker: "external"}, GOMAXPROCS: 1},
		{Name: "pool-builtin", Title: "as pool with the built-in picker (vllm:* metrics scraped every 200 ms)",
			Targets: []Target{TargetFloor, TargetSwitchyard, TargetSwitchyardPool}, Load: Load{Conns: 64, Shape: "sdk"},
			Up: Upstream{Response: "openai"}, Gateway: Gateway{Kind: "pool", Picker: "builtin"}, GOMAXPROCS: 1},
		// The MCP gateway (issue: agents and tools): tools/call in one
		// session, against an MCP server built with the official Go SDK.
		{Name: "mcp-tool-call", Title: "MCP tools/call through a virtual server over one remote target (official Go SDK server, " +
			"JSON answers), GOMAXPROCS=1, 64 connections",
			Targets: []Target{TargetDirect, TargetFloor, TargetSwitchyard}, Load: Load{Conns: 64},
			Up: Upstream{MCP: true}, Gateway: Gateway{Kind: "mcp"}, GOMAXPROCS: 1},
		{Name: "mcp-latency-c1", Title: "as mcp-tool-call, one connection (added latency)",
			Targets: []Target{TargetDirect, TargetFloor, TargetSwitchyard}, Load: Load{Conns: 1},
			Up: Upstream{MCP: true}, Gateway: Gateway{Kind: "mcp"}, GOMAXPROCS: 1},
		{Name: "body-1k", Title: "1 KB request bodies", Targets: []Target{TargetFloor, TargetSwitchyard},
			Load: Load{Conns: 64, BodySize: 1 << 10}, Gateway: Gateway{Kind: "ai"}},
		{Name: "body-32k", Title: "32 KB request bodies", Targets: []Target{TargetFloor, TargetSwitchyard},
			Load: Load{Conns: 64, BodySize: 32 << 10}, Gateway: Gateway{Kind: "ai"}},
		{Name: "body-256k", Title: "256 KB request bodies", Targets: []Target{TargetFloor, TargetSwitchyard},
			Load: Load{Conns: 64, BodySize: 256 << 10}, Gateway: Gateway{Kind: "ai"}},
	}
}

// model returns the model a scenario's requests ask for.
func (s Scenario) model() string {
	if s.Gateway.Kind == "scale" {
		return modelName(s.Gateway.Models - 1)
	}
	return "gpt-4o-mini"
}
