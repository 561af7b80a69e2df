package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

// An address that cannot be bound, or a Pushgateway URL that is not
// one, is a start-up error: exit 2, nothing written.
func TestMetricsFlagsRefusedBeforeAnyWork(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := writeConfig(t, fmt.Sprintf("[redis]\nurl = %q\n[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k:{{.}}\"\n", srv.URL()), map[string]string{})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--metrics-addr", busy.Addr().String()}, "cachewarm: --metrics-addr " + busy.Addr().String() + ": bind: address already in use"},
		{[]string{"--pushgateway", "ftp://ops:s3cret@gw:9091"}, "cachewarm: --pushgateway ftp://gw:9091: not an http(s) URL"},
	}
	for _, tt := range tests {
		code, _, stderr := cli(t, append([]string{"--config", cfg, "--plain"}, tt.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "s3cret") {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, stderr, tt.want)
		}
		if n, _ := srv.Client.Exists(context.Background(), "k:x").Result(); n != 0 {
			t.Errorf("%v: k:x was written", tt.args)
		}
	}
}

// --pushgateway pushes the final figures, grouped by the config's name
// and the shard; a push that fails is said on stderr, and the exit code
// stays the run's.
func TestPushgatewayAtTheEnd(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf("[redis]\nurl = %q\n[[loader]]\nname = \"a\"\nitems = { list = [\"x\", \"y\"] }\nkey = \"k:{{.}}\"\n", srv.URL()), map[string]string{})
	var mu sync.Mutex
	var paths []string
	var body string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths = append(paths, r.URL.Path)
		body = string(b)
		mu.Unlock()
		if strings.Contains(r.URL.Path, "/shard/all") {
			http.Error(w, "full", http.StatusInternalServerError)
		}
	}))
	defer gw.Close()

	code, _, stderr := cli(t, "--config", cfg, "--plain", "--shard", "0/1", "--pushgateway", gw.URL)
	mu.Lock()
	// The client writes the grouping labels in map order; the
	// Pushgateway reads them in any.
	if code != 0 || len(paths) != 1 || !slices.Contains([]string{"/metrics/job/cachewarm/config/config/shard@base64/MC8x", "/metrics/job/cachewarm/shard@base64/MC8x/config/config"}, paths[0]) ||
		!strings.Contains(body, "cachewarm_items") {
		t.Fatalf("exit %d, pushed to %v\n%s", code, paths, stderr)
	}
	mu.Unlock()

	code, _, stderr = cli(t, "--config", cfg, "--plain", "--pushgateway", strings.Replace(gw.URL, "http://", "http://ops:s3cret@", 1))
	if code != 0 || !strings.Contains(stderr, "cachewarm: metrics not pushed: push to "+gw.URL+": ") || strings.Contains(stderr, "s3cret") {
		t.Fatalf("failed push: exit %d\n%s", code, stderr)
	}
}
