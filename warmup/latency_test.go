package warmup_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// Items that time out count in p50/p95 as the fulfilled ones do: five
// of twenty timing out at run.timeout leave p95 at least the timeout, not
// the fast items' few milliseconds.
func TestLatencyIncludesFailures(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(path, "/%d", &n)
		if n <= 5 {
			// Held until the client gives up.
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "ok")
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
timeout = "300ms"
retries = 0
[[loader]]
name = "l"
items = { range = [1, 20] }
key = "l:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	eng.Wait()
	l := eng.Snapshot().Loaders[0]
	if l.Fulfilled != 15 || l.Rejected != 5 {
		t.Fatalf("fulfilled %d, rejected %d; want 15 and 5", l.Fulfilled, l.Rejected)
	}
	if l.P95 < 300*time.Millisecond {
		t.Errorf("p95 %v, want at least the 300ms the failed items took", l.P95)
	}
	if lr := loaderReport(t, eng.Report(), "l"); lr.P95ms < 300 {
		t.Errorf("report p95_ms %v, want at least 300", lr.P95ms)
	}
}
