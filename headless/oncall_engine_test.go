package headless

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup"
)

// A hung origin is visible to machines: each loader of a progress event
// says how old its oldest item in flight is (oldest_ms) and, apart, how
// many items wait for its rate (waiting).
func TestJSONProgressSaysOldestAndWaiting(t *testing.T) {
	var out bytes.Buffer
	j := NewJSON(&out, io.Discard)
	j.progress(warmup.Snapshot{State: warmup.StateRunning, Loaders: []warmup.LoaderSnapshot{
		{Name: "hang", Read: 6, InFlight: 6, OldestInFlight: 7250 * time.Millisecond},
		{Name: "paced", Read: 40, Fulfilled: 4, Queued: 36},
	}})
	var ev map[string]any
	if err := json.Unmarshal(out.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range ev["loaders"].([]any) {
		m := l.(map[string]any)
		b, _ := json.Marshal(map[string]any{"in_flight": m["in_flight"], "oldest_ms": m["oldest_ms"], "waiting": m["waiting"]})
		got[m["loader"].(string)] = string(b)
	}
	want := map[string]string{
		"hang":  `{"in_flight":6,"oldest_ms":7250,"waiting":0}`,
		"paced": `{"in_flight":0,"oldest_ms":0,"waiting":36}`,
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("loader %s: %s, want %s (event %s)", name, got[name], w, strings.TrimSpace(out.String()))
		}
	}
}

// The summary's outage line says how the outage ended: still down when
// the run stopped, or back after the run gave up.
func TestOutageLineSaysHowItEnded(t *testing.T) {
	start := time.Date(2026, 12, 8, 5, 50, 58, 0, time.UTC)
	for _, c := range []struct {
		o    warmup.Outage
		want string
	}{
		{warmup.Outage{Start: start, End: start.Add(10600 * time.Millisecond), GaveUpAt: start.Add(10600 * time.Millisecond), StillDown: true, Seconds: 10.6, Cause: "redis x: connection refused", Outcome: warmup.OutageGaveUp},
			"the last time for 10.6s (redis x: connection refused), then gave up (still down when the run stopped)"},
		{warmup.Outage{Start: start, End: start.Add(38 * time.Second), GaveUpAt: start.Add(10600 * time.Millisecond), Seconds: 38, Cause: "redis x: connection refused", Outcome: warmup.OutageGaveUp},
			"the last time for 38.0s (redis x: connection refused), then gave up after 10.6s; it answered again at 05:51:36"},
	} {
		var b bytes.Buffer
		printOutages(&b, &warmup.Report{ReportTotals: warmup.ReportTotals{Outages: []warmup.Outage{c.o}}})
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("outage line %q, want %q", b.String(), c.want)
		}
	}
}
