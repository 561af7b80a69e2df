package warmup

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/fetch"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// A panic while handling one item rejects that item with "internal error"
// and the run goes on, with its fetch slot given back.
func TestPanicRejectsOnlyThatItem(t *testing.T) {
	mr := miniredis.RunT(t)
	cfg, err := config.ParseConfig("config.toml", []byte(`
[redis]
url = "redis://`+mr.Addr()+`/0"
[run]
concurrency = 1
retries = 0
[[loader]]
name = "p"
items = { range = [1, 3] }
key = "p:{{.}}"
fetch = { url = "http://127.0.0.1:1/{{.}}" }
`), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := rediswrite.Connect(t.Context(), cfg.Redis, 4, cfg.Run.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	eng := New(cfg, rdb, Options{})
	defer eng.Close()
	// The transport asks for the proxy on the fetching goroutine: a panic
	// there is a panic while handling the item.
	eng.fetch = fetch.New(fetch.Options{Concurrency: 1, Timeout: cfg.Run.Timeout, Proxy: func(r *http.Request) (*url.URL, error) {
		if strings.HasSuffix(r.URL.Path, "/2") {
			panic("boom on item 2")
		}
		return nil, nil
	}})
	eng.Start()
	eng.Wait()
	rep := eng.Report()
	l := rep.Loaders[0]
	if l.Rejected != 3 {
		t.Fatalf("rejected %d, want 3 (1 panic, 2 connection refused)", l.Rejected)
	}
	var internal int
	for _, r := range l.RejectedItems {
		if r.Stage == StageInternal {
			internal++
			if r.Reason != "internal error: boom on item 2" || r.Key != "p:2" {
				t.Errorf("panic rejection %+v", r)
			}
		}
	}
	if internal != 1 {
		t.Fatalf("%d internal errors, want 1: %+v", internal, l.RejectedItems)
	}
}
