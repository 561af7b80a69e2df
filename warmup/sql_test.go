package warmup_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/pgtest"
	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// A run from PostgreSQL stopped midway records how many rows settled;
// --retry-from re-runs the query from there and the rejected rows, and
// together they write every row exactly once. The DSN's password shows
// nowhere.
func TestSQLRunStoppedThenRetriedFrom(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	pg.Exec(t, "CREATE TABLE products AS SELECT g AS id, 'slug-' || g AS slug, g % 500 = 0 AS bad FROM generate_series(1, 3000) g")
	srv := redistest.Start(t)
	cfg := loadConfig(t, `
[[loader]]
name = "hot"
items = { sql = "SELECT id, CASE WHEN bad THEN '' ELSE slug END AS slug FROM products ORDER BY id", dsn = "${DATABASE_URL}" }
key = "{{.slug}}"
rate = "3000/s"
`, nil, map[string]string{"DATABASE_URL": pg.DSN("postgres")})
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	deadline := time.Now().Add(20 * time.Second)
	for eng.Snapshot().Fulfilled < 500 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	eng.Stop()
	eng.Wait()
	first := eng.Report()
	checkExact(t, eng, first)
	l := loaderReport(t, first, "hot")
	if l.Resume == nil || l.Resume.Kind != "sql" || l.Resume.Next != l.Fulfilled+l.Rejected {
		t.Fatalf("stopped after %d fulfilled, %d rejected: resume %+v", l.Fulfilled, l.Rejected, l.Resume)
	}
	if l.Fulfilled == 0 || l.Fulfilled+l.Rejected >= 3000 {
		t.Fatalf("the run was not stopped midway: %d fulfilled, %d rejected", l.Fulfilled, l.Rejected)
	}
	// Every 500th row has an empty slug, so an empty key: rejected, in
	// the first run or the second, and the others written.
	_, rep := retryFrom(t, cfg, first)
	l2 := loaderReport(t, rep, "hot")
	if l2.Rejected != 6 || l2.Fulfilled+l2.FulfilledBefore != 2994 || l2.Resume != nil {
		t.Fatalf("retry: %d fulfilled, %d before, %d rejected, resume %+v", l2.Fulfilled, l2.FulfilledBefore, l2.Rejected, l2.Resume)
	}
	for i := 1; i <= 3000; i++ {
		want := fmt.Sprintf(`{"id":%d,"slug":"slug-%d"}`, i, i)
		if i%500 == 0 {
			continue
		}
		if got := srv.Client.Get(t.Context(), "slug-"+strconv.Itoa(i)).Val(); got != want {
			t.Fatalf("slug-%d = %q, want %q", i, got, want)
		}
	}
	b, _ := json.Marshal([]*warmup.Report{first, rep})
	if strings.Contains(string(b), pgtest.Password) || !strings.Contains(l.Source, "(${DATABASE_URL})") {
		t.Fatalf("source %q; the password in a report: %v", l.Source, strings.Contains(string(b), pgtest.Password))
	}
	if n, _ := srv.Client.DBSize(t.Context()).Result(); n != 2994 {
		t.Fatalf("%d keys, want 2994", n)
	}
}
