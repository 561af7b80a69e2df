package warmup_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// Redis killed mid-run. Restarted within run.redis_wait, the run waits
// (nothing new is read, no attempt is spent on the outage: retries = 0
// here) and completes by itself, every item fulfilled. Not restarted, the
// run stops after redis_wait like an interrupt: what was not written is
// rejected or not started, and --retry-from once Redis is back leaves the
// keyspace a clean run leaves.
func TestRedisKilledMidRun(t *testing.T) {
	// Not parallel: its fetches must answer within run.timeout = 1s, which
	// two of them missed beside the parallel tests.
	for _, restart := range []bool{true, false} {
		name := map[bool]string{true: "restarted within redis_wait", false: "not restarted"}[restart]
		t.Run(name, func(t *testing.T) {
			// An append-only file synced on every write keeps what was
			// written before the SIGKILL, as a production Redis with
			// persistence would.
			srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
			var served atomic.Int64
			killed := make(chan struct{})
			o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
				if served.Add(1) == 50 {
					srv.Kill()
					close(killed)
				}
				fmt.Fprintf(w, "v%s", path)
			})
			wait := map[bool]string{true: "60s", false: "1s"}[restart]
			cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 4
retries = 0
timeout = "1s"
redis_wait = %q
[[loader]]
name = "k"
items = { range = [1, 300] }
key = "k:{{.}}"
fetch = { url = "%s/{{.}}" }
[[loader]]
name = "bulk"
items = { range = [1, 20000] }
key = "b:{{.}}"
`, wait, o.URL), nil, nil)
			eng := startAgainst(t, srv, cfg, warmup.Options{})
			<-killed
			if restart {
				waitState(t, eng, warmup.StateWaiting)
				// The header's cause: the failed write's, or a probe's.
				if c := eng.Snapshot().RedisCause; !strings.HasPrefix(c, "redis "+srv.Addr()+": ") || strings.Contains(c, "->") {
					t.Errorf("waiting for Redis: %q does not name Redis at %s alone", c, srv.Addr())
				}
				srv.Restart()
			}
			began := time.Now()
			eng.Wait()
			rep := eng.Report()
			checkExact(t, eng, rep)
			if !restart {
				if took := time.Since(began); took > 15*time.Second {
					t.Errorf("the run took %s to give up; redis_wait is 1s", took)
				}
				if eng.ExitCode() != 1 || !strings.Contains(rep.Stopped, "Redis unavailable") || rep.Interrupted {
					t.Fatalf("exit %d, stopped %q, interrupted %v", eng.ExitCode(), rep.Stopped, rep.Interrupted)
				}
				k := loaderReport(t, rep, "k")
				if k.NotStarted == 0 || k.Resume == nil {
					t.Fatalf("loader k: not started %d, resume %+v: a stopped run must not read the rest", k.NotStarted, k.Resume)
				}
				checkCausesGroup(t, rep, srv.Addr())
				srv.Restart()
				waitPing(t, srv)
				// A write Redis applied just before the kill may have
				// lost its reply: then the key exists and the item is
				// rejected, never the reverse.
				if n := int64(len(srv.Keys("*"))); n < rep.Fulfilled {
					t.Fatalf("%d keys survived the kill, the run says %d fulfilled", n, rep.Fulfilled)
				}
				eng, rep = retryFrom(t, cfg, rep)
				checkExact(t, eng, rep)
			}
			if eng.ExitCode() != 0 || rep.Rejected != 0 || rep.NotStarted != 0 {
				t.Fatalf("exit %d: %d rejected, %d not started: %s", eng.ExitCode(), rep.Rejected, rep.NotStarted, firstRejections(t, rep))
			}
			checkKeyspace(t, srv, "k:%d", 300, func(i int) string { return fmt.Sprintf("v/%d", i) })
			checkKeyspace(t, srv, "b:%d", 20000, func(i int) string { return strconv.Itoa(i) })
		})
	}
}

// checkCausesGroup asserts that the items a Redis outage rejected give
// it few causes, each naming Redis's address and none a connection's own
// details (its local port): one outage must read as one cause, not as
// hundreds.
func checkCausesGroup(t *testing.T, rep *warmup.Report, addr string) {
	t.Helper()
	causes := map[string]int{}
	for _, l := range rep.Loaders {
		for _, r := range l.RejectedItems {
			if r.Stage != warmup.StageRedis {
				continue
			}
			cause := strings.TrimPrefix(r.Reason, "redis SET "+r.Key+": ")
			if !strings.HasPrefix(cause, "redis "+addr+": ") || strings.Contains(cause, "->") ||
				strings.Count(cause, "127.0.0.1:") != strings.Count(cause, addr) {
				t.Errorf("reason %q does not name Redis at %s alone", r.Reason, addr)
			}
			causes[cause]++
		}
	}
	if len(causes) == 0 || len(causes) > 2 {
		t.Errorf("%d distinct causes for one outage, want 1 or 2: %v", len(causes), causes)
	}
}

// A rotated password: the run never counts a write Redis refused, stops
// reading while every connection is refused, and once the new password
// is in the URL, --retry-from finishes the job. Both paths (fetched and
// not), and both ways a rotation happens: CONFIG SET with the
// connections killed, and a restart with another password.
func TestPasswordRotatedMidRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, how := range []string{"config set", "restart"} {
		t.Run(how, func(t *testing.T) {
			srv := redistest.Start(t, "--requirepass", "old-pw-1", "--appendonly", "yes", "--appendfsync", "always")
			var served atomic.Int64
			// From the 100th request on, the origin answers only once the
			// password has changed: however slow the machine, the run
			// cannot finish before the rotation.
			rotate, rotated := make(chan struct{}), make(chan struct{})
			var rotatedOnce sync.Once
			endRotation := func() { rotatedOnce.Do(func() { close(rotated) }) }
			o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
				n := served.Add(1)
				if n == 100 {
					close(rotate)
				}
				if n >= 100 {
					<-rotated
				}
				fmt.Fprintf(w, "v%s", path)
			})
			t.Cleanup(endRotation)
			cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 8
timeout = "1s"
redis_wait = "1s"
[[loader]]
name = "f"
items = { range = [1, 500] }
key = "f:{{.}}"
fetch = { url = "%s/{{.}}" }
[[loader]]
name = "bulk"
items = { range = [1, 200000] }
key = "b:{{.}}"
`, o.URL), nil, nil)
			if err := cfg.SetRedisURL(fmt.Sprintf("redis://:old-pw-1@%s/0", srv.Addr())); err != nil {
				t.Fatal(err)
			}
			eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
			eng.Start()
			<-rotate
			switch how {
			case "config set":
				if err := srv.Client.ConfigSet(ctx, "requirepass", "new-pw-2").Err(); err != nil {
					t.Fatal(err)
				}
				srv.Client.Do(ctx, "CLIENT", "KILL", "TYPE", "normal")
			case "restart":
				srv.RestartWithPassword("new-pw-2")
			}
			endRotation()
			eng.Wait()
			rep := eng.Report()
			checkExact(t, eng, rep)
			if eng.ExitCode() == 0 {
				t.Fatalf("exit 0 after a password rotation: %s", mustJSON(t, rep.ReportTotals))
			}
			admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: "new-pw-2"})
			defer admin.Close()
			for _, l := range rep.Loaders {
				prefix := map[string]string{"f": "f:", "bulk": "b:"}[l.Name]
				n, err := admin.Eval(ctx, "return #redis.call('KEYS', ARGV[1])", nil, prefix+"*").Int64()
				if err != nil {
					t.Fatal(err)
				}
				if l.Fulfilled > n {
					t.Fatalf("loader %s: %d fulfilled but only %d keys exist", l.Name, l.Fulfilled, n)
				}
			}
			if rep.Rejected == 0 && rep.NotStarted == 0 {
				t.Fatalf("nothing rejected or not started: %s", mustJSON(t, rep.ReportTotals))
			}
			for _, l := range rep.Loaders {
				for _, r := range l.RejectedItems {
					if !strings.Contains(r.Reason, "WRONGPASS") && !strings.Contains(r.Reason, "NOAUTH") &&
						!strings.Contains(r.Reason, "connection") && r.Stage != warmup.StageInterrupted {
						t.Fatalf("reason %q does not say why", r.Reason)
					}
				}
			}
			if err := cfg.SetRedisURL(fmt.Sprintf("redis://:new-pw-2@%s/0", srv.Addr())); err != nil {
				t.Fatal(err)
			}
			eng, rep = retryFrom(t, cfg, rep)
			checkExact(t, eng, rep)
			if eng.ExitCode() != 0 {
				t.Fatalf("exit %d after --retry-from with the new password: %s", eng.ExitCode(), mustJSON(t, rep.ReportTotals))
			}
			srv.Client = admin
			checkKeyspace(t, srv, "f:%d", 500, func(i int) string { return fmt.Sprintf("v/%d", i) })
			checkKeyspace(t, srv, "b:%d", 200000, func(i int) string { return strconv.Itoa(i) })
		})
	}
}

// The ledger holds at every snapshot of a run: nothing settles that was
// not read, nothing is read beyond the source, and what is read and not
// settled never exceeds the run's budget, however many loaders and items.
func TestLedgerAtEverySnapshot(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, n int, w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(path, "7") && n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "v%s", path)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 16
backoff = "1ms"
[redis]
pipeline = 64
[[loader]]
name = "f"
items = { range = [1, 3000] }
key = "f:{{.}}"
fetch = { url = "%s/{{.}}" }
[[loader]]
name = "bulk"
items = { range = [1, 100000] }
key = "b:{{.}}"
[[loader]]
name = "file"
items = { file = "items.jsonl" }
key = "j:{{.id}}"
`, o.URL), map[string]string{"items.jsonl": jsonlLines(20000)}, nil)
	budget := int64(2*16 + 2*4*64)
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	for snaps := 0; ; snaps++ {
		s := eng.Snapshot()
		var inFlight int64
		for _, l := range s.Loaders {
			if l.Settled() > l.Read || l.InFlight < 0 {
				t.Fatalf("snapshot %d: loader %s settled %d of %d read", snaps, l.Name, l.Settled(), l.Read)
			}
			if l.Total >= 0 && l.Read > l.Total {
				t.Fatalf("snapshot %d: loader %s read %d of %d", snaps, l.Name, l.Read, l.Total)
			}
			inFlight += l.InFlight
		}
		if inFlight > budget {
			t.Fatalf("snapshot %d: %d items in flight, budget %d", snaps, inFlight, budget)
		}
		if s.State == warmup.StateDone {
			break
		}
		runtime.Gosched()
	}
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	if rep.Fulfilled != 123000 || eng.ExitCode() != 0 {
		t.Fatalf("exit %d, %d fulfilled", eng.ExitCode(), rep.Fulfilled)
	}
}

// retryFrom writes rep where --report would and runs cfg with
// --retry-from it, to the end.
func retryFrom(t *testing.T, cfg *config.Config, rep *warmup.Report) (*warmup.Engine, *warmup.Report) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.json")
	if err := warmup.WriteReport(path, rep); err != nil {
		t.Fatal(err)
	}
	rf, err := warmup.OpenReport(path)
	if err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	if err := eng.StartFrom(rf); err != nil {
		t.Fatal(err)
	}
	eng.Wait()
	return eng, eng.Report()
}

// checkKeyspace asserts keys pattern 1..n exist with the values want
// gives, and no others of the pattern.
func checkKeyspace(t *testing.T, srv *redistest.Server, pattern string, n int, want func(int) string) {
	t.Helper()
	ctx := context.Background()
	pipe := srv.Client.Pipeline()
	cmds := make([]*redis.StringCmd, n)
	for i := 1; i <= n; i++ {
		cmds[i-1] = pipe.Get(ctx, fmt.Sprintf(pattern, i))
	}
	pipe.Exec(ctx)
	for i, c := range cmds {
		if v := c.Val(); v != want(i+1) {
			t.Fatalf("%s = %q (%v), want %q", fmt.Sprintf(pattern, i+1), v, c.Err(), want(i+1))
		}
	}
}

// waitState polls snapshots until the run is in state s.
func waitState(t *testing.T, eng *warmup.Engine, s warmup.State) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for eng.Snapshot().State != s {
		if time.Now().After(deadline) {
			t.Fatalf("state %s, waited for %s", eng.Snapshot().State, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// firstRejections shows the totals and a few rejections of rep.
func firstRejections(t *testing.T, rep *warmup.Report) string {
	t.Helper()
	out := mustJSON(t, rep.ReportTotals)
	for _, l := range rep.Loaders {
		out += fmt.Sprintf("\n%s: %d rejected, %d not started", l.Name, l.Rejected, l.NotStarted)
		for _, r := range l.RejectedItems[:min(3, len(l.RejectedItems))] {
			out += "\n  " + mustJSON(t, r)
		}
	}
	return out
}

func jsonlLines(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "{\"id\":%d}\n", i)
	}
	return b.String()
}

func waitPing(t *testing.T, srv *redistest.Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Client.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not come back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Redis paused: writes wait; they time out with a reason when the pause
// outlasts the timeout, and complete when it resumes in time.
func TestRedisPaused(t *testing.T) {
	tests := []struct {
		name, pause, timeout string
		rejected             int64
	}{
		{"pause outlasts the timeout", "3000", "300ms", 50},
		{"resumes in time", "300", "5s", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			cfg := loadConfig(t, fmt.Sprintf(`
[run]
timeout = %q
retries = 0
[[loader]]
name = "p"
items = { range = [1, 50] }
key = "p:{{.}}"
`, tc.timeout), nil, nil)
			if err := cfg.SetRedisURL(srv.URL()); err != nil {
				t.Fatal(err)
			}
			rdb := connect(t, cfg)
			if err := srv.Client.Do(context.Background(), "CLIENT", "PAUSE", tc.pause, "WRITE").Err(); err != nil {
				t.Fatal(err)
			}
			eng := newEngine(t, cfg, rdb, warmup.Options{})
			eng.Start()
			eng.Wait()
			rep := eng.Report()
			checkExact(t, eng, rep)
			if rep.Rejected != tc.rejected || rep.Fulfilled != 50-tc.rejected {
				t.Fatalf("%d fulfilled, %d rejected; want %d rejected", rep.Fulfilled, rep.Rejected, tc.rejected)
			}
			for _, r := range rep.Loaders[0].RejectedItems {
				if r.Reason != "redis SET "+r.Key+": redis "+srv.Addr()+": timeout after "+tc.timeout {
					t.Fatalf("reason %q", r.Reason)
				}
			}
			if n := int64(len(srv.Keys("p:*"))); n != rep.Fulfilled {
				t.Fatalf("%d keys, %d fulfilled", n, rep.Fulfilled)
			}
		})
	}
}

// Redis full, with nothing it may evict (volatile-lru, keys without a
// TTL): items are rejected with the OOM reason and the run finishes.
// Under noeviction the run stops before this (memory_test.go).
func TestRedisFullRejectsWithOOM(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory", "2mb", "--maxmemory-policy", "volatile-lru")
	cfg := loadConfig(t, `
[run]
retries = 0
ttl = "0"
[[loader]]
name = "big"
items = { range = [1, 100] }
key = "big:{{.}}"
fetch = { url = "`+bigOrigin(t)+`/{{.}}" }
`, nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	if rep.Fulfilled == 0 || rep.Rejected == 0 {
		t.Fatalf("%d fulfilled, %d rejected: want the server to fill up", rep.Fulfilled, rep.Rejected)
	}
	for _, r := range rep.Loaders[0].RejectedItems {
		if !strings.Contains(r.Reason, "OOM command not allowed") || r.Attempts != 1 {
			t.Fatalf("reason %q attempts %d", r.Reason, r.Attempts)
		}
	}
}

func bigOrigin(t *testing.T) string {
	body := strings.Repeat("x", 100<<10)
	o := newOrigin(t, func(_ string, _ int, w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) })
	return o.URL
}

func TestEvictionWarning(t *testing.T) {
	tests := []struct {
		policy string
		warn   bool
	}{{"noeviction", false}, {"volatile-lru", false}, {"allkeys-lru", true}}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			srv := redistest.Start(t, "--maxmemory-policy", tc.policy)
			rdb, err := rediswrite.Connect(context.Background(), config.RedisConfig{URL: srv.URL()}, 2, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			w := rediswrite.EvictionWarning(context.Background(), rdb)
			if (w != "") != tc.warn || (tc.warn && !strings.Contains(w, tc.policy)) {
				t.Fatalf("warning %q for %s", w, tc.policy)
			}
		})
	}
}

// An origin that hangs on some items does not hold up the others.
func TestHangingItemsDoNotBlockOthers(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(path, "/1") || strings.HasSuffix(path, "/2") {
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "ok")
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 4
timeout = "400ms"
retries = 0
[[loader]]
name = "h"
items = { range = [1, 300] }
key = "h:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	if rep.Fulfilled != 298 || rep.Rejected != 2 {
		t.Fatalf("%d fulfilled, %d rejected", rep.Fulfilled, rep.Rejected)
	}
	for _, r := range rep.Loaders[0].RejectedItems {
		if !strings.HasSuffix(r.Reason, ": timeout after 400ms") {
			t.Fatalf("reason %q", r.Reason)
		}
	}
	// 298 items at concurrency 4 with two slots stuck for 400ms: far less
	// than the 298 × 400ms a head-of-line queue would take.
	if s := eng.Snapshot(); s.Elapsed > 5*time.Second {
		t.Fatalf("run took %v", s.Elapsed)
	}
}

// TLS: rediss:// with a CA file and a client certificate; without the CA
// the server is not trusted; skipping verification is an explicit opt-in.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := writeCA(t, dir)
	writeCert(t, dir, "server", ca, caKey, true)
	writeCert(t, dir, "client", ca, caKey, false)
	p := func(n string) string { return filepath.Join(dir, n) }
	redistest.Path(t)
	port := redistest.FreePort(t)
	srv := redistest.Start(t, "--tls-port", fmt.Sprint(port), "--tls-cert-file", p("server.pem"), "--tls-key-file", p("server.key"),
		"--tls-ca-cert-file", p("ca.pem"), "--tls-auth-clients", "yes")
	url := fmt.Sprintf("rediss://127.0.0.1:%d/0", port)
	tests := []struct {
		name, redis string
		wantErr     string
	}{
		{"ca and client cert", fmt.Sprintf("url = %q\ntls_ca = %q\ntls_cert = %q\ntls_key = %q", url, p("ca.pem"), p("client.pem"), p("client.key")), ""},
		{"no ca", fmt.Sprintf("url = %q\ntls_cert = %q\ntls_key = %q", url, p("client.pem"), p("client.key")), "certificate signed by unknown authority"},
		{"skip verify", fmt.Sprintf("url = %q\ntls_cert = %q\ntls_key = %q\ntls_insecure_skip_verify = true", url, p("client.pem"), p("client.key")), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConfig(t, "[redis]\n"+tc.redis+"\n[[loader]]\nname = \"t\"\nitems = { range = [1, 20] }\nkey = \"tls:{{.}}\"\n", nil, nil)
			rdb, err := rediswrite.Connect(context.Background(), cfg.Redis, 4, 2*time.Second)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			eng := warmup.New(cfg, rdb, warmup.Options{})
			defer eng.Close()
			eng.Start()
			eng.Wait()
			if rep := eng.Report(); rep.Fulfilled != 20 {
				t.Fatalf("%d fulfilled over TLS: %s", rep.Fulfilled, mustJSON(t, rep))
			}
		})
	}
	_ = srv
}

// A password from password_file works and never shows.
func TestPasswordFile(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "file-pw-9876")
	cfg := loadConfig(t, fmt.Sprintf(`
[redis]
url = "redis://%s/0"
password_file = "pw.txt"
[[loader]]
name = "a"
items = { list = ["x"] }
key = "{{.}}:{{.missing}}"
`, srv.Addr()), map[string]string{"pw.txt": "file-pw-9876\n"}, nil)
	_, rep := runURL(t, cfg, warmup.Options{})
	if rep.Rejected != 1 {
		t.Fatalf("%s", mustJSON(t, rep))
	}
	if strings.Contains(mustJSON(t, rep), "file-pw-9876") {
		t.Fatal("password in report")
	}
	cfg.Redis.Password = "wrong-pw-1234"
	_, err := rediswrite.Connect(context.Background(), cfg.Redis, 1, time.Second)
	if err == nil || strings.Contains(err.Error(), "wrong-pw-1234") || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("error %v", err)
	}
}

func writeCA(t *testing.T, dir string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cachewarm test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", der)
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func writeCert(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, server bool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	if server {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, name+".key"), "EC PRIVATE KEY", kb)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A retry writes exactly what a clean run writes, even for items JSON
// cannot say exactly: a JSONL line with spacing and <, >, & (which a
// report's JSON would compact and escape), and text and CSV fields that
// are not UTF-8. Everything is rejected first (OOM), then --retry-from
// fills the keyspace; it must equal a clean run's, byte for byte.
func TestRetryFromWritesTheExactBytes(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	files := map[string]string{
		"a.jsonl": "{\"id\":1, \"html\":\"<b>&amp;</b>\"}\n{\"id\":2,\t\"x\": [1, 2]}\n{\"id\":3}\n",
		"b.txt":   "bad\xff\xfebytes\nplain\n",
		"c.csv":   "id,name\n1,ok\n2,caf\xe9\n3,\"multi\nline \xff\"\n",
	}
	toml := `
[run]
retries = 0
ttl = "0"
[[loader]]
name = "j"
items = { file = "a.jsonl" }
key = "j:{{.id}}"
[[loader]]
name = "t"
items = { file = "b.txt" }
key = "t:{{.}}"
[[loader]]
name = "c"
items = { file = "c.csv" }
key = "c:{{.id}}:{{.name}}"
`
	clean := loadConfig(t, toml, files, nil)
	if err := clean.SetRedisURL(strings.TrimSuffix(srv.URL(), "/0") + "/1"); err != nil {
		t.Fatal(err)
	}
	if _, rep := runURL(t, clean, warmup.Options{}); rep.Rejected != 0 {
		t.Fatalf("clean run rejected %d", rep.Rejected)
	}
	cfg := loadConfig(t, toml, files, nil)
	// Full, with nothing to evict (the keys have no TTL): every write is
	// refused with OOM. Under noeviction the run would stop before
	// writing, every item not started.
	srv.Client.ConfigSet(ctx, "maxmemory-policy", "volatile-lru")
	srv.Client.ConfigSet(ctx, "maxmemory", "1")
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	srv.Client.ConfigSet(ctx, "maxmemory", "0")
	if rep.Fulfilled != 0 || rep.Rejected != 8 {
		t.Fatalf("first run: %d fulfilled, %d rejected; want every item rejected (OOM)", rep.Fulfilled, rep.Rejected)
	}
	eng, rep := retryFrom(t, cfg, rep)
	if eng.ExitCode() != 0 {
		t.Fatalf("--retry-from exit %d: %s", eng.ExitCode(), firstRejections(t, rep))
	}
	dump := func(db int) map[string]string {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr(), DB: db})
		defer c.Close()
		out := map[string]string{}
		for _, k := range c.Keys(ctx, "*").Val() {
			out[k] = c.Get(ctx, k).Val()
		}
		return out
	}
	got, want := dump(0), dump(1)
	if len(want) != 8 || !maps.Equal(got, want) {
		t.Fatalf("keyspace after --retry-from differs from a clean run's:\n got %q\nwant %q", got, want)
	}
}
