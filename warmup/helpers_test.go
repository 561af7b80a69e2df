package warmup_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// writeFiles writes name → content under a new temp dir and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadConfig writes config.toml (plus extra files) and loads it.
func loadConfig(t *testing.T, toml string, extra map[string]string, env map[string]string) *config.Config {
	t.Helper()
	files := map[string]string{"config.toml": toml}
	for k, v := range extra {
		files[k] = v
	}
	dir := writeFiles(t, files)
	cfg, err := config.LoadConfig(filepath.Join(dir, "config.toml"), config.Options{Getenv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// runAgainst runs cfg to the end against a real redis-server and returns
// the engine (for retries) and its report.
func runAgainst(t *testing.T, srv *redistest.Server, cfg *config.Config, opts warmup.Options) (*warmup.Engine, *warmup.Report) {
	t.Helper()
	if err := cfg.SetRedisURL(srv.URL()); err != nil {
		t.Fatal(err)
	}
	return runURL(t, cfg, opts)
}

// startAgainst starts cfg against a real redis-server and returns the
// running engine, closed when the test ends.
func startAgainst(t *testing.T, srv *redistest.Server, cfg *config.Config, opts warmup.Options) *warmup.Engine {
	t.Helper()
	if err := cfg.SetRedisURL(srv.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), opts)
	eng.Start()
	return eng
}

func runURL(t *testing.T, cfg *config.Config, opts warmup.Options) (*warmup.Engine, *warmup.Report) {
	t.Helper()
	eng := newEngine(t, cfg, connect(t, cfg), opts)
	eng.Start()
	eng.Wait()
	return eng, eng.Report()
}

// connect opens a client for cfg's Redis, closed when the test ends.
func connect(t *testing.T, cfg *config.Config) *rediswrite.Target {
	t.Helper()
	rdb, err := rediswrite.Connect(context.Background(), cfg.Redis, 8, cfg.Run.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// newEngine makes an engine that is closed when the test ends.
func newEngine(t *testing.T, cfg *config.Config, rdb redis.UniversalClient, opts warmup.Options) *warmup.Engine {
	t.Helper()
	eng := warmup.New(cfg, rdb, opts)
	t.Cleanup(eng.Close)
	return eng
}

func loaderReport(t *testing.T, rep *warmup.Report, name string) warmup.LoaderReport {
	t.Helper()
	for _, l := range rep.Loaders {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("no loader %q in report", name)
	return warmup.LoaderReport{}
}

// checkExact asserts the ledger of a run that has settled: every item
// read is fulfilled or rejected, none in flight; a loader is done unless
// the run was stopped, and then its source says what was not started;
// the report's totals add up.
func checkExact(t *testing.T, eng *warmup.Engine, rep *warmup.Report) {
	t.Helper()
	var f, r, n int64
	for _, l := range eng.Snapshot().Loaders {
		if l.Settled() != l.Read || l.InFlight != 0 {
			t.Errorf("loader %s: fulfilled %d + rejected %d != read %d (in flight %d)", l.Name, l.Fulfilled, l.Rejected, l.Read, l.InFlight)
		}
		if !l.SourceRead || (!eng.Stopped() && !l.Done) {
			t.Errorf("loader %s: source read %v, done %v, run stopped %v", l.Name, l.SourceRead, l.Done, eng.Stopped())
		}
		if l.Total >= 0 && l.NotStarted >= 0 && l.Read+l.NotStarted != l.Total {
			t.Errorf("loader %s: read %d + not started %d != total %d", l.Name, l.Read, l.NotStarted, l.Total)
		}
	}
	// The report in memory lists the latest rejections; the one written
	// streams them all from the journal.
	path := filepath.Join(t.TempDir(), "report.json")
	if err := warmup.WriteReport(path, rep); err != nil {
		t.Fatal(err)
	}
	written, err := warmup.ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range rep.Loaders {
		f += l.Fulfilled
		r += l.Rejected
		if l.NotStarted > 0 {
			n += l.NotStarted
		}
		if int64(len(written.Loaders[i].RejectedItems)) != l.Rejected {
			t.Errorf("loader %s: %d rejected but %d rejected items", l.Name, l.Rejected, len(written.Loaders[i].RejectedItems))
		}
		if (l.NotStarted != 0) != (l.Resume != nil) {
			t.Errorf("loader %s: not started %d but resume %+v", l.Name, l.NotStarted, l.Resume)
		}
	}
	if f != rep.Fulfilled || r != rep.Rejected || n != rep.NotStarted {
		t.Errorf("totals %d/%d/%d, loaders add to %d/%d/%d", rep.Fulfilled, rep.Rejected, rep.NotStarted, f, r, n)
	}
}

func reasons(l warmup.LoaderReport) map[string]string {
	out := map[string]string{}
	for _, r := range l.RejectedItems {
		out[strings.Trim(string(r.Item), `"`)] = r.Reason
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
