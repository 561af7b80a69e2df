package warmup_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// A rejected item keeps its failed attempts, each with its time and
// error, and RetryItem retries that one item alone: the other rejected
// items stay rejected, as they were.
func TestRetryItemAndAttemptHistory(t *testing.T) {
	srv := redistest.Start(t)
	var healthy atomic.Bool
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() && (path == "/2" || path == "/3") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "v")
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 2
backoff = "1ms"
[[loader]]
name = "a"
items = { range = [1, 4] }
key = "a:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng, _ := runAgainst(t, srv, cfg, warmup.Options{})
	rs := eng.Rejections("a")
	if len(rs) != 2 {
		t.Fatalf("%d rejected, want 2: %+v", len(rs), rs)
	}
	i := slices.IndexFunc(rs, func(r warmup.Rejection) bool { return r.Key == "a:2" })
	if i < 0 {
		t.Fatalf("a:2 not rejected: %+v", rs)
	}
	two := rs[i]
	if len(two.History) != 3 {
		t.Fatalf("a:2 keeps %d attempts, want its 3: %+v", len(two.History), two.History)
	}
	for j, a := range two.History {
		if a.N != j+1 || a.At.IsZero() || !strings.Contains(a.Error, "503 Service Unavailable") {
			t.Errorf("attempt %d: %+v, want number %d, a time and the 503", j, a, j+1)
		}
	}

	healthy.Store(true)
	if n := eng.RetryItem("a", two); n != 1 {
		t.Fatalf("RetryItem queued %d, want 1", n)
	}
	eng.Wait()
	s := eng.Snapshot().Loaders[0]
	if s.Rejected != 1 || s.Fulfilled != 3 {
		t.Errorf("after retrying a:2 alone: %d fulfilled, %d rejected, want 3 and 1", s.Fulfilled, s.Rejected)
	}
	if keys := srv.Keys("a:*"); !slices.Contains(keys, "a:2") || slices.Contains(keys, "a:3") {
		t.Errorf("keys %q: want a:2 written and a:3 not", keys)
	}
	if rs := eng.Rejections("a"); len(rs) != 1 || rs[0].Key != "a:3" {
		t.Errorf("still rejected: %+v, want a:3 only", rs)
	}
	// Once fulfilled it is not rejected any more: a second press does
	// nothing.
	if n := eng.RetryItem("a", two); n != 0 {
		t.Errorf("RetryItem of a fulfilled item queued %d", n)
	}
}
