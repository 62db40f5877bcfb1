package harness

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/loadtest/load"
)

func sample(sc string, t Target, rep int, rps, p50, cpuUS float64) Sample {
	r := &load.Result{Throughput: rps, Requests: int64(rps), Conns: 1000, Latency: load.Dist{P50: p50, P99: 2 * p50},
		TTFT: load.Dist{P50: p50}, ChunkGap: load.Dist{P50: 5}, SpreadRatio: 1}
	r.Procs = []load.ProcResult{{Name: "upstream", CPUPerRequestUS: 5}}
	if t != TargetDirect {
		r.Procs = append(r.Procs, load.ProcResult{Name: "server", CPUPerRequestUS: cpuUS,
			RSSBeforeBytes: 10 << 20, RSSPeakBytes: 10<<20 + int64(cpuUS)<<20})
	}
	return Sample{Scenario: sc, Target: t, Rep: rep, Result: r}
}

func TestAggregateMedians(t *testing.T) {
	scs := []Scenario{{Name: "passthrough", Targets: []Target{TargetFloor, TargetSwitchyard}}}
	ss := []Sample{
		sample("passthrough", TargetFloor, 1, 100, 1, 10),
		sample("passthrough", TargetFloor, 2, 300, 3, 30),
		sample("passthrough", TargetFloor, 3, 200, 2, 20),
		sample("other", TargetFloor, 1, 999, 9, 99),
	}
	aggs := Aggregate(scs, ss)
	if len(aggs) != 1 {
		t.Fatalf("got %d aggregates, want 1 (switchyard has no samples)", len(aggs))
	}
	a := aggs[0]
	if a.Reps != 3 || a.Throughput != 200 || a.P50 != 2 || a.CPUPerReq != 20 || !a.HasServer {
		t.Fatalf("aggregate %+v", a)
	}
}

func TestChecks(t *testing.T) {
	scs := Default()
	var ss []Sample
	add := func(sc string, t Target, rps, p50, cpu float64) { ss = append(ss, sample(sc, t, 1, rps, p50, cpu)) }
	add("passthrough", TargetFloor, 1000, 1, 10)
	add("passthrough", TargetSwitchyard, 900, 1, 12)     // 1.2× CPU: pass; 0.9× throughput: pass
	add("passthrough", TargetSwitchyardHTTP, 500, 1, 20) // 2× CPU: miss
	add("passthrough-real", TargetFloor, 1000, 1, 10)
	add("passthrough-real", TargetSwitchyard, 800, 1, 12.9) // 1.29×: pass
	add("passthrough-shared", TargetFloor, 1000, 1, 10)
	add("passthrough-shared", TargetSwitchyard, 600, 1, 20) // 2×: miss
	add("latency-c1", TargetDirect, 1, 0.1, 0)
	add("latency-c1", TargetFloor, 1, 0.2, 1)
	add("latency-c1", TargetSwitchyard, 1, 0.4, 1) // adds 0.3 vs 0.1: miss
	ttft := func(t Target, ms float64) {
		s := sample("ttft-c1", t, 1, 1, 1, 1)
		s.Result.TTFT.P50 = ms
		ss = append(ss, s)
	}
	ttft(TargetDirect, 0.09)
	ttft(TargetFloor, 0.19)
	ttft(TargetSwitchyard, 0.22) // adds 0.13 vs 0.10: pass (≤ 1.5×)
	add("metering", TargetFloor, MeterRate, 1, 20)
	add("metering", TargetSwitchyard, MeterRate, 1, 29) // 1.45× at the same rate: pass
	add("metering-max", TargetFloor, 1000, 1, 20)
	add("metering-max", TargetSwitchyard, 700, 1, 33) // report only
	add("metering-redis", TargetFloor, 1000, 1, 20)
	add("metering-redis", TargetSwitchyard, 500, 1, 60) // report only
	add("metering-c1", TargetFloor, 1, 0.2, 1)
	add("metering-c1", TargetSwitchyard, 1, 0.3, 1)
	add("metering-redis-c1", TargetSwitchyard, 1, 0.45, 1)
	recs := func(written, served int64) {
		s := sample("metering-records", TargetSwitchyard, len(ss), 1000, 1, 20)
		s.Records = &Records{Served: served, Answered: served, Written: written}
		ss = append(ss, s)
	}
	recs(5000, 5000)
	recs(4999, 5000) // one lost in one repetition: miss
	checks := Checks(Aggregate(scs, ss))
	want := map[string]string{
		"passthrough CPU per request (AI route)":                                   "PASS",
		"passthrough CPU per request (plain HTTP route)":                           "MISS",
		"max throughput (AI route)":                                                "PASS",
		"added latency at concurrency 1 (p50)":                                     "MISS",
		"streaming added TTFT (p50, one connection)":                               "PASS",
		"policy chain CPU per request":                                             "n/a",
		"passthrough-real CPU per request (AI route)":                              "PASS",
		"passthrough-shared CPU per request (AI route)":                            "MISS",
		"metering chain CPU per request (counters in memory, both at 20000 req/s)": "PASS",
		"metering chain CPU per request at max rate (counters in memory)":          "report",
		"metering chain CPU per request (counters in Redis)":                       "report",
		"Redis added latency at concurrency 1 (p50)":                               "report",
		"usage records at max rate (metering-records)":                             "MISS",
	}
	for _, c := range checks {
		w, ok := want[c.Name]
		if !ok {
			continue
		}
		got := "MISS"
		if c.Missing {
			got = "n/a"
		} else if c.Report {
			got = "report"
		} else if c.Pass {
			got = "PASS"
		}
		if got != w {
			t.Errorf("%s: %s (%s), want %s", c.Name, got, c.Measured, w)
		}
		delete(want, c.Name)
	}
	if len(want) > 0 {
		t.Fatalf("checks not produced: %v", want)
	}
}

func TestReportAndPlot(t *testing.T) {
	scs := Default()
	var ss []Sample
	for _, sc := range scs {
		for i, tg := range sc.Targets {
			ss = append(ss, sample(sc.Name, tg, 1, 1000, float64(i+1)/10, float64(10+i)))
		}
	}
	aggs := Aggregate(scs, ss)
	var md bytes.Buffer
	WriteReport(&md, ReportInfo{Machine: "test machine", Reps: 1}, scs, aggs)
	for _, want := range []string{"test machine", "| passthrough | switchyard |", "### Streams", "**PASS**", "latency.png"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	var img bytes.Buffer
	if err := PlotLatency(&img, scs, aggs); err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(&img)
	if err != nil {
		t.Fatal(err)
	}
	if b := im.Bounds(); b.Dx() != 1000 || b.Dy() != 460 {
		t.Fatalf("plot is %v", b)
	}
}

func TestGlyphs(t *testing.T) {
	for r, g := range glyphs {
		if len(g) != 15 || strings.Trim(g, ".#") != "" {
			t.Errorf("glyph %q: %q is not 15 cells of . and #", r, g)
		}
	}
}
