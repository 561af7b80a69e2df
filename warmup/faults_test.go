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
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// Redis killed mid-run: the items it affected are rejected naming Redis,
// counts stay exact, and once it is back a retry writes the rest: the
// keyspace equals a clean run's.
func TestRedisKilledMidRun(t *testing.T) {
	// An append-only file synced on every write keeps what was written
	// before the SIGKILL, as a production Redis with persistence would.
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
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 4
retries = 1
backoff = "1ms"
timeout = "1s"
[[loader]]
name = "k"
items = { range = [1, 200] }
key = "k:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	<-killed
	checkExact(t, eng, rep)
	if rep.Rejected == 0 || rep.Fulfilled < 20 {
		t.Fatalf("%d fulfilled, %d rejected: want some of each", rep.Fulfilled, rep.Rejected)
	}
	for _, r := range rep.Loaders[0].RejectedItems {
		if !strings.HasPrefix(r.Reason, "redis SET "+r.Key+": ") {
			t.Fatalf("reason %q does not name Redis", r.Reason)
		}
	}
	srv.Restart()
	waitPing(t, srv)
	before := int64(len(srv.Keys("k:*")))
	// A write Redis applied just before the kill may have lost its reply:
	// then the key exists and the item is rejected, never the reverse.
	if before < rep.Fulfilled {
		t.Fatalf("%d keys survived the kill, the run says %d fulfilled", before, rep.Fulfilled)
	}
	rejected := rep.Rejected
	if n := eng.Retry(); int64(n) != rejected {
		t.Fatalf("retry queued %d, want %d", n, rejected)
	}
	eng.Wait()
	rep = eng.Report()
	checkExact(t, eng, rep)
	if rep.Rejected != 0 || rep.Fulfilled != 200 {
		t.Fatalf("after retry %d fulfilled, %d rejected", rep.Fulfilled, rep.Rejected)
	}
	// The final keyspace equals a clean run's: every key, with its value.
	ctx := context.Background()
	if n := len(srv.Keys("k:*")); n != 200 {
		t.Fatalf("%d keys after retry, want 200", n)
	}
	for i := 1; i <= 200; i++ {
		if v := srv.Client.Get(ctx, fmt.Sprintf("k:%d", i)).Val(); v != fmt.Sprintf("v/%d", i) {
			t.Fatalf("k:%d = %q", i, v)
		}
	}
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
				if r.Reason != "redis SET "+r.Key+": timeout after "+tc.timeout {
					t.Fatalf("reason %q", r.Reason)
				}
			}
			if n := int64(len(srv.Keys("p:*"))); n != rep.Fulfilled {
				t.Fatalf("%d keys, %d fulfilled", n, rep.Fulfilled)
			}
		})
	}
}

// Redis full with noeviction: items are rejected with the OOM reason and
// the run finishes.
func TestRedisFullRejectsWithOOM(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
	cfg := loadConfig(t, `
[run]
retries = 0
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
