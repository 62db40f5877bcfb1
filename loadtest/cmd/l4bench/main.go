// Command l4bench measures the TCP and gRPC paths of Switchyard: a TCP echo
// relayed through a TCPRoute against a bare TCP relay (cmd/tcprelay) and a
// direct connection (throughput, and server CPU per MiB relayed), and gRPC
// unary calls through a GRPCRoute over h2c against calling the backend
// directly and through a bare net/http reverse proxy (cmd/h2relay): calls
// per second, latency, proxy CPU per call. The upstreams
// (a TCP echo server, grpc-go's interop TestService) and the load run in
// this process; pin it away from the servers under test (run.sh does).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/interop"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/switchyard-ai/switchyard/loadtest/load"
)

func main() {
	sy := flag.String("switchyard", "bin/switchyard", "the gateway binary")
	relay := flag.String("relay", "loadtest/bin/tcprelay", "the bare TCP relay binary")
	h2relay := flag.String("h2relay", "loadtest/bin/h2relay", "the bare HTTP/2 reverse proxy binary")
	out := flag.String("out", "loadtest/results/l4.md", "report file (markdown)")
	conns := flag.Int("c", 16, "concurrent TCP connections / gRPC callers")
	dur := flag.Duration("d", 3*time.Second, "measured window per target")
	chunk := flag.Int("chunk", 64<<10, "bytes per TCP write")
	cpus := flag.String("server-cpus", "", "taskset CPU list for the servers under test (empty: no pinning)")
	flag.Parse()

	echo := echoServer()
	grpcAddr := grpcServer()
	var rows []string
	rows = append(rows, "## TCP: echo relay, "+fmt.Sprint(*conns)+" connections, "+fmt.Sprint(*chunk>>10)+" KiB writes", "",
		"| target | MiB/s (each way) | server CPU ms per MiB |", "| --- | ---: | ---: |")
	rows = append(rows, tcpRow("direct", echo, 0, *conns, *chunk, *dur))
	rp, raddr := start(*cpus, *relay, []string{"-to", echo}, "")
	rows = append(rows, tcpRow("bare relay (io.Copy)", raddr, rp.Process.Pid, *conns, *chunk, *dur))
	stop(rp)
	gp, gaddr := startGateway(*cpus, *sy, fmt.Sprintf(`
server: {accessLog: false}
listeners: [{name: raw, port: PORT, protocol: TCP}]
tcpRoutes: [{name: echo, rules: [{backendRefs: [{name: echo}]}]}]
backends: [{name: echo, static: {endpoints: ['%s']}}]
`, echo))
	rows = append(rows, tcpRow("switchyard TCPRoute", gaddr, gp.Process.Pid, *conns, *chunk, *dur))
	stop(gp)

	rows = append(rows, "", "## gRPC unary (interop UnaryCall, 100-byte response), "+fmt.Sprint(*conns)+" callers on one connection", "",
		"| target | calls/s | p50 ms | p99 ms | gateway CPU µs per call |", "| --- | ---: | ---: | ---: | ---: |")
	rows = append(rows, grpcRow("direct", grpcAddr, 0, *conns, *dur))
	hp, haddr := start(*cpus, *h2relay, []string{"-to", grpcAddr}, "")
	rows = append(rows, grpcRow("bare h2c proxy (httputil.ReverseProxy)", haddr, hp.Process.Pid, *conns, *dur))
	stop(hp)
	gp, gaddr = startGateway(*cpus, *sy, fmt.Sprintf(`
server: {accessLog: false}
listeners: [{name: web, port: PORT, h2c: true}]
grpcRoutes: [{name: test, rules: [{backendRefs: [{name: grpc}]}]}]
backends: [{name: grpc, static: {endpoints: ['%s']}}]
`, grpcAddr))
	rows = append(rows, grpcRow("switchyard GRPCRoute (h2c)", gaddr, gp.Process.Pid, *conns, *dur))
	stop(gp)

	report := "# TCP and gRPC load test\n\n" + strings.Join(rows, "\n") + "\n"
	fmt.Print(report)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err == nil {
		_ = os.WriteFile(*out, []byte(report), 0o644)
	}
}

// echoServer echoes every connection's bytes back.
func echoServer() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func grpcServer() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer()
	testpb.RegisterTestServiceServer(s, interop.NewTestServer())
	go func() { _ = s.Serve(ln) }()
	return ln.Addr().String()
}

// tcpRow writes chunks on conns connections and reads the echo for dur.
func tcpRow(name, addr string, pid, conns, chunk int, dur time.Duration) string {
	var total atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, chunk)
			for ctx.Err() == nil {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		go func() {
			defer wg.Done()
			defer c.Close()
			buf := make([]byte, 256<<10)
			for {
				n, err := c.Read(buf)
				total.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // warm-up
	cpu0 := cpuOf(pid)
	b0 := total.Load()
	time.Sleep(dur)
	b1 := total.Load()
	cpu1 := cpuOf(pid)
	cancel()
	wg.Wait()
	mib := float64(b1-b0) / (1 << 20)
	cpu := "—"
	if pid > 0 {
		cpu = fmt.Sprintf("%.3f", (cpu1-cpu0)*1000/mib)
	}
	return fmt.Sprintf("| %s | %.0f | %s |", name, mib/dur.Seconds(), cpu)
}

// grpcRow makes unary calls from conns goroutines over one connection for dur.
func grpcRow(name, addr string, pid, conns int, dur time.Duration) string {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	client := testpb.NewTestServiceClient(cc)
	req := &testpb.SimpleRequest{ResponseSize: 100, Payload: &testpb.Payload{Body: make([]byte, 100)}}
	var (
		mu       sync.Mutex
		lat      []time.Duration
		errs     atomic.Int64
		measure  atomic.Bool
		stopping atomic.Bool
		wg       sync.WaitGroup
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for !stopping.Load() {
				t0 := time.Now()
				_, err := client.UnaryCall(context.Background(), req)
				if err != nil {
					errs.Add(1)
					continue
				}
				if measure.Load() {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	time.Sleep(500 * time.Millisecond)
	cpu0 := cpuOf(pid)
	measure.Store(true)
	time.Sleep(dur)
	measure.Store(false)
	cpu1 := cpuOf(pid)
	stopping.Store(true)
	wg.Wait()
	if len(lat) == 0 {
		return fmt.Sprintf("| %s | 0 | — | — | — (%d errors) |", name, errs.Load())
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	cpu := "—"
	if pid > 0 {
		cpu = fmt.Sprintf("%.1f", (cpu1-cpu0)*1e6/float64(len(lat)))
	}
	row := fmt.Sprintf("| %s | %.0f | %.2f | %.2f | %s |", name, float64(len(lat))/dur.Seconds(), q(.5), q(.99), cpu)
	if n := errs.Load(); n > 0 {
		row += fmt.Sprintf(" %d errors", n)
	}
	return row
}

func cpuOf(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	s, err := load.CPUSeconds(pid)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

// start runs a server binary (pinned when cpus is set) and waits for its "listening ADDR" log line.
func start(cpus, bin string, args []string, cfg string) (*exec.Cmd, string) {
	var cmd *exec.Cmd
	if cpus != "" {
		cmd = exec.Command("taskset", append([]string{"-c", cpus, bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	pr, pw := io.Pipe()
	cmd.Stderr, cmd.Stdout = pw, io.Discard
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := pr.Read(buf)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	line := string(buf[:n])
	i := strings.Index(line, "listening ")
	if i < 0 {
		log.Fatalf("%s: %s", bin, line)
	}
	return cmd, strings.TrimSpace(strings.Fields(line[i+len("listening "):])[0])
}

// startGateway runs the gateway on cfg (PORT replaced by a free port) and waits until the port accepts.
func startGateway(cpus, bin, cfg string) (*exec.Cmd, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	dir, err := os.MkdirTemp("", "l4bench")
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(cfg, "PORT", fmt.Sprint(port))), 0o600); err != nil {
		log.Fatal(err)
	}
	args := []string{"run", "-c", path, "--admin", "127.0.0.1:0"}
	var cmd *exec.Cmd
	if cpus != "" {
		cmd = exec.Command("taskset", append([]string{"-c", cpus, bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for range 200 {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return cmd, addr
		}
		time.Sleep(25 * time.Millisecond)
	}
	log.Fatalf("gateway did not listen on %s", addr)
	return nil, ""
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}
