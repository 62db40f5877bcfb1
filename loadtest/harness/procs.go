package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is one server process started by the harness.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it serves on
	log  *os.File
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop ends the process (SIGTERM, then SIGKILL after 3s) and closes its log.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	if p.log != nil {
		_ = p.log.Close()
	}
}

// launcher starts processes, pinned to a CPU list with taskset when set.
type launcher struct {
	dir string // logs go here
}

// start runs name args pinned to cpus ("" = not pinned), with env added to
// the harness's environment. When readAddr is set the process prints its
// address as the first line of stdout.
func (l *launcher) start(ctx context.Context, label, cpus string, env []string, readAddr bool, name string,
	args ...string) (*proc, error) {
	if cpus != "" {
		args = append([]string{"-c", cpus, name}, args...)
		name = "taskset" // taskset execs the program: the PID stays the same
	}
	logf, err := os.Create(filepath.Join(l.dir, label+".log"))
	if err != nil {
		return nil, fmt.Errorf("harness: log of %s: %w", label, err)
	}
	cmd := exec.Command(name, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stderr = logf
	p := &proc{name: label, cmd: cmd, log: logf}
	var out *bufio.Reader
	if readAddr {
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			_ = logf.Close()
			return nil, fmt.Errorf("harness: stdout of %s: %w", label, err)
		}
		out = bufio.NewReader(pipe)
	} else {
		cmd.Stdout = logf
	}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("harness: start %s: %w", label, err)
	}
	if readAddr {
		type lineErr struct {
			s   string
			err error
		}
		ch := make(chan lineErr, 1)
		go func() { s, err := out.ReadString('\n'); ch <- lineErr{s, err} }()
		select {
		case r := <-ch:
			if r.err != nil {
				p.stop()
				return nil, fmt.Errorf("harness: %s printed no address: %w (see %s.log)", label, r.err, label)
			}
			p.addr = strings.TrimSpace(r.s)
			go func() { _, _ = out.WriteTo(logf) }()
		case <-time.After(10 * time.Second):
			p.stop()
			return nil, fmt.Errorf("harness: %s printed no address in 10s", label)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		}
	}
	return p, nil
}

// freePorts returns n distinct free loopback ports: each is held open until
// all are chosen (one at a time, the OS may hand out a port just closed).
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("harness: free port: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// freePort returns a loopback port free at the time of the call.
func freePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("harness: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers (any status) or the timeout passes.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("harness: probe %s: %w", url, err)
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("harness: %s not ready after %s: %w", url, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
