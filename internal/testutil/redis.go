package testutil

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis is a redis-server process started by [StartRedis] for one test.
type Redis struct {
	t    testing.TB
	port int
	dir  string
	cmd  *exec.Cmd
}

// StartRedis starts redis-server on a free loopback port, without
// persistence, in a temporary directory, and waits until it answers PING. It
// is stopped when the test ends. The test fails when redis-server is not
// installed.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found: install the redis-server package (CI installs it)")
	}
	r := &Redis{t: t, port: FreePort(t), dir: t.TempDir()}
	t.Cleanup(r.stop)
	r.Start()
	return r
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// Start starts the server again on the same port after [Redis.Kill], and
// waits until it answers PING. The data is gone: nothing is persisted.
func (r *Redis) Start() {
	r.t.Helper()
	if r.cmd != nil {
		r.t.Fatal("redis-server is already running")
	}
	logPath := filepath.Join(r.dir, "redis.log")
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--logfile", logPath)
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for !r.ping() {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			r.t.Fatalf("redis-server on %s did not answer PING within 10s; its log:\n%s", r.Addr(), log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the server at once with SIGKILL, as a crash would.
func (r *Redis) Kill() {
	r.t.Helper()
	if r.cmd == nil {
		r.t.Fatal("redis-server is not running")
	}
	r.stop()
}

// stop kills the server, if running, and reaps it.
func (r *Redis) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// ping reports whether the server answers PING.
func (r *Redis) ping() bool {
	c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := fmt.Fprint(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
