// Package pgtest starts a real PostgreSQL server for integration tests
// and the benchmark harness, in a temporary directory on a free loopback
// port, and stops it when the test ends. The server runs as an unprivileged user when the test runs
// as root, since initdb and postgres refuse root.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

// Password is the superuser's password: connections over TCP need it.
const Password = "pgtest-secret"

// Server is a postgres process owned by one test.
type Server struct {
	Port   int
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// binDir finds the directory holding initdb and postgres: on PATH, or
// where Debian puts them, /usr/lib/postgresql/<version>/bin (the newest).
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb not found")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start initialises a database cluster in a temporary directory and runs
// postgres on a free loopback port until the test ends. It skips the
// test when PostgreSQL is not installed (fails under
// CACHEWARM_REQUIRE_REDIS=1, as CI sets).
func Start(t testing.TB) *Server {
	t.Helper()
	if !Installed() {
		msg := "PostgreSQL not found (initdb): install the Debian package postgresql to run this integration test"
		if redistest.Require() {
			t.Fatal(msg + " (CACHEWARM_REQUIRE_REDIS=1)")
		}
		t.Skip(msg)
	}
	s, err := Run(context.Background(), redistest.FreePort(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Installed reports whether initdb and postgres can be found.
func Installed() bool {
	_, err := binDir()
	return err == nil
}

// Run initialises a database cluster in a new temporary directory and
// starts postgres on port; Stop ends it and removes the directory.
func Run(ctx context.Context, port int) (s *Server, err error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	owner, err := unprivileged()
	if err != nil {
		return nil, err
	}
	// Not a test's TempDir: its parent is private to root, and the
	// server may run as another user.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	for _, p := range []string{dir, pwfile} {
		if err := owner.chown(p); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
	owner.apply(initdb)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	s = &Server{Port: port, dir: dir, exited: make(chan struct{})}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	owner.apply(s.cmd)
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		s.stopProcess()
		return nil, fmt.Errorf("postgres: %v\n%s", err, log)
	}
	return s, nil
}

// Stop ends the server and removes its directory.
func (s *Server) Stop() {
	s.stopProcess()
	os.RemoveAll(s.dir)
}

func (s *Server) stopProcess() {
	// SIGINT is postgres's fast shutdown: it ends its children too.
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// waitReady connects until the server answers, for at most 20 s.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-s.exited:
			return errors.New("exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready in 20s: %w", err)
		case <-time.After(delay):
		}
	}
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// DSN is a postgres:// URL for the superuser, with its password, to db.
func (s *Server) DSN(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", Password), Host: s.Addr(), Path: "/" + db,
		RawQuery: "sslmode=disable"}
	return u.String()
}

// Exec runs SQL statements (separated by semicolons) in database
// postgres, failing the test on an error.
func (s *Server) Exec(t testing.TB, sql string) {
	t.Helper()
	if err := s.ExecContext(context.Background(), sql); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// ExecContext runs SQL statements (separated by semicolons) in database
// postgres.
func (s *Server) ExecContext(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimSpace(sql), err)
	}
	return nil
}
