// Package redistest starts a real redis-server for integration tests, on
// a free loopback port, and stops it when the test ends.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by one test.
type Server struct {
	t    testing.TB
	Port int
	dir  string
	args []string
	cmd  *exec.Cmd
	// ready is the log line that says the server is ready.
	ready string
	// Client talks to the server directly, for checking what was written.
	Client *redis.Client
}

// Require reports whether a missing redis-server must fail the test
// rather than skip it (CACHEWARM_REQUIRE_REDIS=1, as CI sets).
func Require() bool { return os.Getenv("CACHEWARM_REQUIRE_REDIS") == "1" }

// Path returns the redis-server binary, or skips (fails under Require)
// the test when it is absent.
func Path(t testing.TB) string {
	t.Helper()
	return lookPath(t, "redis-server", "redis-server")
}

// lookPath returns the program bin, or skips the test naming the Debian
// package that has it (fails under Require).
func lookPath(t testing.TB, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		msg := bin + " not found: install the Debian package " + pkg + " to run this integration test"
		if Require() {
			t.Fatal(msg + " (CACHEWARM_REQUIRE_REDIS=1)")
		}
		t.Skip(msg)
	}
	return p
}

// Start runs redis-server on a free loopback port with extra config args
// (e.g. "--maxmemory", "1mb"). The server stops when the test ends.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := Path(t)
	s := &Server{t: t, dir: t.TempDir(), Port: FreePort(t), ready: "Ready to accept connections"}
	s.args = append([]string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--protected-mode", "no"}, extra...)
	s.start(bin)
	opts := &redis.Options{Addr: s.Addr()}
	for i, a := range extra {
		if a == "--requirepass" && i+1 < len(extra) {
			opts.Password = extra[i+1]
		}
	}
	s.Client = redis.NewClient(opts)
	t.Cleanup(func() {
		s.Client.Close()
		s.Kill()
	})
	return s
}

func (s *Server) start(bin string) {
	s.t.Helper()
	s.cmd = exec.Command(bin, s.args...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatalf("redis-server: %v", err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var log []string
		for sc.Scan() {
			log = append(log, sc.Text())
			if strings.Contains(sc.Text(), s.ready) {
				ready <- nil
				for sc.Scan() {
				}
				return
			}
		}
		ready <- fmt.Errorf("redis-server exited before it was ready:\n%s", strings.Join(log, "\n"))
	}()
	select {
	case err := <-ready:
		if err != nil {
			s.t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatal("redis-server did not become ready in 10s")
	}
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is the redis:// URL of database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Kill stops the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start(Path(s.t))
}

// RestartLoading starts the server again on the same port with extra
// config args (e.g. "--key-load-delay", "50" to load slowly), and returns
// as soon as it has begun loading its data from disk: it is listening,
// and answers LOADING until it is done. The args stay for later restarts.
func (s *Server) RestartLoading(extra ...string) {
	s.t.Helper()
	s.Kill()
	s.args = append(s.args, extra...)
	ready := s.ready
	s.ready = "Loading RDB produced by"
	defer func() { s.ready = ready }()
	s.start(Path(s.t))
}

// RestartWithPassword starts the server again on the same port, now
// requiring pw (as a restart after a password rotation would); Client
// uses pw from then on.
func (s *Server) RestartWithPassword(pw string) {
	s.t.Helper()
	s.Kill()
	args := make([]string, 0, len(s.args)+2)
	for i := 0; i < len(s.args); i++ {
		if s.args[i] == "--requirepass" {
			i++
			continue
		}
		args = append(args, s.args[i])
	}
	s.args = append(args, "--requirepass", pw)
	s.start(Path(s.t))
	s.Client.Close()
	s.Client = redis.NewClient(&redis.Options{Addr: s.Addr(), Password: pw})
}

// Keys returns every key matching pattern.
func (s *Server) Keys(pattern string) []string {
	s.t.Helper()
	keys, err := s.Client.Keys(context.Background(), pattern).Result()
	if err != nil {
		s.t.Fatalf("KEYS %s: %v", pattern, err)
	}
	return keys
}

// FreePort returns a loopback TCP port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
