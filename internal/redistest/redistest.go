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
	"slices"
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
	s := &Server{t: t, dir: t.TempDir(), ready: "Ready to accept connections"}
	cluster := slices.Contains(extra, "--cluster-enabled")
	// A port free when asked may be taken before redis-server binds it
	// (and a cluster node's bus port, port+10000, by anyone): another
	// port then, a few times.
	for try := 1; ; try++ {
		s.Port = freePort(t, cluster)
		s.args = append([]string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", s.dir, "--protected-mode", "no"}, extra...)
		err := s.startErr(bin)
		if err == nil {
			break
		}
		if try == 5 || !strings.Contains(err.Error(), "Address already in use") {
			t.Fatal(err)
		}
	}
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
	if err := s.startErr(bin); err != nil {
		s.t.Fatal(err)
	}
}

// startErr starts redis-server with s.args and waits until it is ready.
func (s *Server) startErr(bin string) error {
	s.cmd = exec.Command(bin, s.args...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
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
			_ = s.cmd.Wait()
		}
		return err
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		return fmt.Errorf("redis-server did not become ready in 10s")
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
	return freePort(t, false)
}

// freePort is FreePort; for a cluster node, also port+10000 (its bus)
// is free and a port.
func freePort(t testing.TB, cluster bool) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !cluster {
			l.Close()
			return port
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		l.Close()
		if err == nil {
			bus.Close()
			return port
		}
	}
}
