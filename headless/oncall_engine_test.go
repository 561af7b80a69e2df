package headless

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/source"
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

// onCallReport is a stopped run of twelve loaders: six not all started,
// nine causes, one outage.
func onCallReport() *warmup.Report {
	rep := &warmup.Report{}
	rep.Stopped = "Redis unavailable for 10.6s: redis 127.0.0.1:6379: connection refused"
	rep.Seconds = 24.2
	start := time.Date(2026, 12, 8, 5, 50, 58, 0, time.UTC)
	rep.Outages = []warmup.Outage{{Start: start, End: start.Add(10600 * time.Millisecond), GaveUpAt: start.Add(10600 * time.Millisecond), StillDown: true,
		Seconds: 10.6, Cause: "redis 127.0.0.1:6379: connection refused", Outcome: warmup.OutageGaveUp}}
	for i := range 12 {
		l := warmup.LoaderReport{LoaderTotals: warmup.LoaderTotals{Name: fmt.Sprintf("loader-%02d", i), Source: fmt.Sprintf("range 1..%d → origin", 600+i), Fulfilled: 500}}
		if i < 9 {
			l.Rejected = 10
			l.Causes = []warmup.CauseCount{{Cause: fmt.Sprintf("%d Service Unavailable", 500+i), Stage: warmup.StageFetch, Count: 10, Example: fmt.Sprintf("GET /p/%d", i)}}
		}
		if i%2 == 0 {
			l.NotStarted = 90
			l.Resume = &source.Resume{Remaining: 90, Next: 511}
		}
		rep.Fulfilled += l.Fulfilled
		rep.Rejected += l.Rejected
		rep.NotStarted += l.NotStarted
		rep.Loaders = append(rep.Loaders, l)
	}
	return rep
}

// The summary left after q (and --plain's end) fits the terminal: on
// 80×24 at most 20 lines, the table's head and TOTAL kept with the
// loaders beyond folded, at most five cause lines, the outage in one,
// and last the retry command whole, on a line of its own. Before, ~30
// lines scrolled the table's head off. Without a known terminal the
// summary says all, as before.
func TestSummaryFitsTheTerminal(t *testing.T) {
	retry := "cachewarm --config /srv/cachewarm/config.toml --retry-from /home/oncall/.local/state/cachewarm/config-2f9a.report.json"
	for _, c := range []struct {
		rows, cols int
		maxLines   int
		loaders    int
	}{{24, 80, 20, 12}, {36, 120, 32, 12}, {0, 0, 0, 12}} {
		var b bytes.Buffer
		p := NewPlain(&b, &b)
		p.Rows, p.Cols, p.Report, p.Retry = c.rows, c.cols, "/home/oncall/.local/state/cachewarm/config-2f9a.report.json", retry
		p.Final(onCallReport())
		out := strings.TrimSuffix(b.String(), "\n")
		lines := strings.Split(out, "\n")
		rows := 0
		for _, l := range lines {
			rows++
			if c.cols > 0 && len([]rune(l)) > c.cols {
				rows += (len([]rune(l)) - 1) / c.cols
			}
		}
		name := fmt.Sprintf("%dx%d", c.cols, c.rows)
		if c.maxLines > 0 && rows > c.maxLines {
			t.Errorf("%s: %d rows, want at most %d:\n%s", name, rows, c.maxLines, out)
		}
		if !strings.HasPrefix(out, "LOADER") || !strings.Contains(out, "\nTOTAL ") {
			t.Errorf("%s: the table's head or TOTAL is missing:\n%s", name, out)
		}
		if last := lines[len(lines)-1]; last != retry && last != "retry: "+retry {
			t.Errorf("%s: last line %q, want the retry command whole", name, last)
		}
		causes := strings.Count(out, "Service Unavailable (e.g.") + strings.Count(out, "more causes")
		if c.rows == 24 && (causes > 5 || !strings.Contains(out, "… ") || strings.Count(out, "Redis did not answer") != 1) {
			t.Errorf("%s: %d cause lines (want ≤ 5), loaders folded %v, outage lines %d:\n%s", name, causes, strings.Contains(out, "… "), strings.Count(out, "Redis did not answer"), out)
		}
		if c.rows == 0 && strings.Count(out, "loader-") < 12+6+8 {
			t.Errorf("unknown terminal: the summary lost lines it always had:\n%s", out)
		}
	}
}
