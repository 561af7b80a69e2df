//go:build linux

// Redis servers the harness starts, and the checks it makes on what they
// hold.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is the redis-server process the harness owns.
type redisServer struct {
	cmd    *exec.Cmd
	port   int
	exited chan struct{}
}

// startRedis starts redis-server on a free loopback port with dir as its
// working directory and waits until it answers PING.
func startRedis(ctx context.Context, dir string, extra ...string) (*redisServer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 { // another process may take the free port first
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &redisServer{port: port, exited: make(chan struct{})}
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no",
			"--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no"}, extra...)
		s.cmd = exec.Command("redis-server", args...)
		// Its own process group keeps a terminal's Ctrl-C from killing it
		// before the harness does; Pdeathsig ends it if the harness dies.
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		go func() {
			s.cmd.Wait()
			close(s.exited)
		}()
		if lastErr = s.waitReady(ctx, dir); lastErr == nil {
			return s, nil
		}
		s.stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, lastErr
}

// waitReady polls PING until the server answers, exits, or 10 s pass.
func (s *redisServer) waitReady(ctx context.Context, dir string) error {
	c := redis.NewClient(&redis.Options{Addr: s.addr(), DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			return nil
		}
		select {
		case <-s.exited:
			logData, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			return fmt.Errorf("redis-server exited before answering PING:\n%s", tail(logData, 2000))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("redis-server did not answer PING within 10s")
		}
	}
}

// addr is the server's host:port.
func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// url is the redis:// URL of database 0, with userinfo when user is set.
func (s *redisServer) url(user, pass string) string {
	if user == "" {
		return "redis://" + s.addr() + "/0"
	}
	return "redis://" + user + ":" + pass + "@" + s.addr() + "/0"
}

// stop ends the server: SIGTERM, then SIGKILL after 5 s.
func (s *redisServer) stop() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// flush empties the database.
func (b *bench) flush(ctx context.Context) error {
	return b.rdb.FlushAll(ctx).Err()
}

// serverCPU is the CPU time that the main thread of the redis-server c
// talks to, the one that runs every command, has used (user + system),
// from INFO cpu: when it grows as fast as the wall clock, Redis is the
// bottleneck and no client can load faster.
func serverCPU(ctx context.Context, c redis.Cmdable) (time.Duration, error) {
	info, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, fmt.Errorf("INFO cpu: %w", err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user_main_thread" || k == "used_cpu_sys_main_thread") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("INFO cpu %s: %w", k, err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second)), nil
}

// busy runs f and returns the share of its wall time redis-server's main
// thread spent on a CPU. The share includes the checks f makes after its
// run (DBSIZE, a sample of GETs), a few milliseconds.
func (b *bench) busy(ctx context.Context, f func() (time.Duration, error)) (time.Duration, float64, error) {
	// Emptying the database costs Redis CPU of its own: do it first, so
	// f's own FLUSHALL finds nothing to free.
	if err := b.flush(ctx); err != nil {
		return 0, 0, err
	}
	before, err := serverCPU(ctx, b.rdb)
	if err != nil {
		return 0, 0, err
	}
	wall, err := f()
	if err != nil {
		return wall, 0, err
	}
	after, err := serverCPU(ctx, b.rdb)
	if err != nil {
		return wall, 0, err
	}
	return wall, (after - before).Seconds() / wall.Seconds(), nil
}

// wantDBSize checks that the database holds exactly n keys.
func (b *bench) wantDBSize(ctx context.Context, n int) error {
	got, err := b.rdb.DBSize(ctx).Result()
	if err != nil {
		return fmt.Errorf("DBSIZE: %w", err)
	}
	if got != int64(n) {
		return fmt.Errorf("DBSIZE = %d, want %d", got, n)
	}
	return nil
}

// checkKeys reads keyOf(id) for every id and compares it with want(id);
// every TTL must be in (minTTL, ttlSeconds].
func (b *bench) checkKeys(ctx context.Context, ids []int, keyOf func(int) string, want func(int) []byte) error {
	return b.checkKeysTTL(ctx, ids, keyOf, want, minTTL*time.Second)
}

// checkKeysTTL is checkKeys with every TTL in (lo, ttlSeconds], for runs
// long enough that their first keys have lost more than 100 s.
func (b *bench) checkKeysTTL(ctx context.Context, ids []int, keyOf func(int) string, want func(int) []byte, lo time.Duration) error {
	return checkKeysOn(ctx, b.rdb, ids, keyOf, want, lo)
}

// checkKeysOn is checkKeysTTL against rdb: one server or a cluster.
func checkKeysOn(ctx context.Context, rdb redis.Cmdable, ids []int, keyOf func(int) string, want func(int) []byte, lo time.Duration) error {
	pipe := rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(ids))
	ttls := make([]*redis.DurationCmd, len(ids))
	for i, id := range ids {
		gets[i] = pipe.Get(ctx, keyOf(id))
		ttls[i] = pipe.TTL(ctx, keyOf(id))
	}
	_, _ = pipe.Exec(ctx) // each command's error is read below
	for i, id := range ids {
		k := keyOf(id)
		got, err := gets[i].Bytes()
		if err != nil {
			return fmt.Errorf("GET %s: %w", k, err)
		}
		if w := want(id); !bytes.Equal(got, w) {
			return fmt.Errorf("GET %s = %q, want %q", k, got, w)
		}
		ttl, err := ttls[i].Result()
		if err != nil {
			return fmt.Errorf("TTL %s: %w", k, err)
		}
		if ttl <= lo || ttl > ttlSeconds*time.Second {
			return fmt.Errorf("TTL %s = %s, want in (%s, %ds]", k, ttl, lo, ttlSeconds)
		}
	}
	return nil
}
