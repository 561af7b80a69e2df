package tui

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachewarm/cachewarm/warmup"
)

// The scenes of issue #24: six loaders at 3 a.m. against a flaky origin,
// a hung one, a user Redis's ACL limits, and a retry.

const noperm = "NOPERM this user has no permissions to access one of the keys used as arguments"

// onCall is the run: recs-hang's six items hang on the origin.
func onCall() warmup.Snapshot {
	return totals(warmup.Snapshot{
		Redis:   "redis://127.0.0.1:6379/0",
		State:   warmup.StateRunning,
		Elapsed: 9 * time.Second,
		Rate:    40,
		Loaders: []warmup.LoaderSnapshot{
			{
				Name: "recs-flaky", Source: "range 1..300 → origin",
				Total: 300, Read: 300, Fulfilled: 200, Rejected: 90, InFlight: 10, OldestInFlight: 1200 * time.Millisecond,
				Rate: 30, P50: 8 * time.Millisecond, P95: 40 * time.Millisecond,
				LastReason: "fetch GET http://origin/recs/7: 503 Service Unavailable", LastCause: "503 Service Unavailable",
				Causes: []warmup.CauseCount{{Cause: "503 Service Unavailable", Stage: warmup.StageFetch, Count: 90, Example: "GET /recs/7"}},
			},
			{
				Name: "recs-hang", Source: "list of 6 → hung",
				Total: 6, Read: 6, InFlight: 6, OldestInFlight: 7 * time.Second,
			},
			{
				Name: "acl-limited", Source: "list of 40",
				Total: 40, Read: 40, Rejected: 40, Done: true,
				LastReason: "redis SET nope:40: " + noperm, LastCause: noperm,
				Causes: []warmup.CauseCount{{Cause: noperm, Stage: warmup.StageRedis, Count: 40, Example: "SET nope:40"}},
			},
			{
				Name: "catalog-products", Source: "range 1..300",
				Total: 300, Read: 300, Fulfilled: 217, InFlight: 83, OldestInFlight: 2 * time.Second,
				Retrying: 83, RetryAttempt: 2,
			},
			{
				Name: "users", Source: "range 1..500",
				Total: 500, Read: 500, Fulfilled: 500, Done: true,
			},
			{
				Name: "stopped", Source: "range 1..100 → origin",
				Total: 100, Read: 100, Fulfilled: 50, Rejected: 50, Done: true,
				LastReason: "interrupted", LastCause: "interrupted",
				Causes: []warmup.CauseCount{
					{Cause: "interrupted", Stage: warmup.StageInterrupted, Count: 30},
					{Cause: "503 Service Unavailable", Stage: warmup.StageFetch, Count: 20, Example: "GET /p/3"},
				},
			},
		},
	})
}

// startSeeded is start with a minute of throughput behind every loader,
// so that the tiles draw their sparklines.
func startSeeded(t *testing.T, snap warmup.Snapshot, w, h int) *driver {
	t.Helper()
	eng := newFake(snap)
	d := &driver{t: t, m: New(eng, Options{still: true}), eng: eng}
	seedHistory(d.m.history, snap)
	d.send(tickMsg{}, tea.WindowSizeMsg{Width: w, Height: h})
	return d
}

var sizes = []struct{ w, h int }{{80, 24}, {100, 30}, {120, 36}, {160, 40}, {200, 50}, {60, 20}}

// A hung origin never looks idle: every tile at every width says how
// many items are in flight and how old the oldest is.
func TestInFlightOnEveryTile(t *testing.T) {
	for _, sz := range sizes {
		d := startSeeded(t, onCall(), sz.w, sz.h)
		v := d.view()
		if !strings.Contains(v, "recs-hang") {
			// Below the fold at 60x20: scroll to it.
			d.press("tab")
			v = d.view()
		}
		if !strings.Contains(v, "6 in flight, oldest 7s") {
			t.Errorf("%dx%d: the hung loader's tile lacks \"6 in flight, oldest 7s\":\n%s", sz.w, sz.h, v)
		}
	}
}

// Tiles grow with the terminal: at 200 columns six loaders take three
// columns of 66 rather than five of 40 and a ragged row.
func TestTilesGrowWithTheTerminal(t *testing.T) {
	d := startSeeded(t, onCall(), 200, 50)
	v := d.view()
	if !strings.Contains(v, "╭"+strings.Repeat("─", 60)) {
		t.Errorf("tiles at 200 columns are not wider than 60:\n%s", v)
	}
	if c, _ := d.m.grid.shape(); c != 3 {
		t.Errorf("%d columns at 200 for six loaders, want 3", c)
	}
}

// A cause is never cut in a tile: one too long for a line wraps.
func TestTileCauseWraps(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{100, 30}, {120, 36}, {200, 50}} {
		v := startSeeded(t, onCall(), sz.w, sz.h).view()
		if strings.Contains(v, "permissio…") || !strings.Contains(v, "arguments") {
			t.Errorf("%dx%d: the NOPERM cause is cut:\n%s", sz.w, sz.h, v)
		}
	}
}

// During a retry the bar does not run backwards and the name stays
// whole; after a stop the tile shows the cause that was failing, not
// "interrupted".
func TestRetryAndStopTiles(t *testing.T) {
	for _, sz := range sizes[:5] {
		v := startSeeded(t, onCall(), sz.w, sz.h).view()
		if strings.Contains(v, "217/300") || !strings.Contains(v, "300/300") {
			t.Errorf("%dx%d: the retrying loader's progress went back to 217/300:\n%s", sz.w, sz.h, v)
		}
		if !strings.Contains(v, "catalog-products ") || !strings.Contains(v, "↻") {
			t.Errorf("%dx%d: the retrying loader's name or marker is cut:\n%s", sz.w, sz.h, v)
		}
		if strings.Contains(v, "✗ interrupted") || !strings.Contains(v, "503 Service Unavailable · GET /p/3") {
			t.Errorf("%dx%d: the stopped loader shows \"interrupted\" instead of its 503:\n%s", sz.w, sz.h, v)
		}
	}
}

// Six loaders fit 80x24 (compact tiles), and the key line always keeps
// "? help" and "q quit".
func TestSmallTerminals(t *testing.T) {
	v := startSeeded(t, onCall(), 80, 24).view()
	for _, l := range onCall().Loaders {
		if !strings.Contains(v, l.Name) {
			t.Errorf("80x24: %s is below the fold:\n%s", l.Name, v)
		}
	}
	for _, sz := range []struct{ w, h int }{{80, 24}, {60, 20}, {40, 15}} {
		d := startSeeded(t, onCall(), sz.w, sz.h)
		for _, screen := range []string{"grid", "failures"} {
			if screen == "failures" {
				d.press("f")
			}
			lines := strings.Split(d.view(), "\n")
			foot := lines[len(lines)-1]
			if !strings.Contains(foot, "? help") || !strings.Contains(foot, "q quit") {
				t.Errorf("%dx%d %s: the key line lacks ? help or q quit: %q", sz.w, sz.h, screen, foot)
			}
		}
	}
}

// The failure views give the cause its width and the rows their
// example: the highlighted cause is whole below the table however
// narrow its column, an example reads "SET nope:40", not "SET ne…", and
// an item list gives the URL its width before the item's JSON.
func TestFailureViewsKeepCauseAndExample(t *testing.T) {
	d := startSeeded(t, onCall(), 80, 24)
	d.press("f")
	d.press("down") // acl-limited, the second most frequent
	v := d.view()
	if !strings.Contains(strings.Join(strings.Fields(v), " "), "rejected with “"+noperm+"”") {
		t.Errorf("80x24 all failures: the highlighted NOPERM cause is not whole on screen:\n%s", v)
	}
	if !strings.Contains(v, "SET nope:40") {
		t.Errorf("80x24 all failures: the example is cut:\n%s", v)
	}

	snap := onCall()
	long := strings.Repeat("x", 60)
	eng := newFake(snap)
	eng.rejections["recs-flaky"] = []warmup.Rejection{{
		Item:   []byte(`{"id":7,"payload":"` + long + `"}`),
		Key:    "recs:7",
		Reason: "fetch GET http://origin/products/1234567/recommendations: 503 Service Unavailable",
		Cause:  "503 Service Unavailable", Stage: warmup.StageFetch, Attempts: 3,
	}}
	d = &driver{t: t, m: New(eng, Options{still: true}), eng: eng}
	d.send(tea.WindowSizeMsg{Width: 120, Height: 36}, tickMsg{})
	d.press("enter", "tab")
	d.send(tickMsg{})
	if v := d.view(); !strings.Contains(v, "GET /products/1234567/recommendations") {
		t.Errorf("120x36 items: the URL is cut while the item's JSON has room:\n%s", v)
	}
}

// esc goes back one view: f → enter → tab → esc is the loader's causes,
// esc again all failures, esc again the grid.
func TestEscGoesBackOneView(t *testing.T) {
	d := startSeeded(t, onCall(), 120, 36)
	d.press("f", "enter", "tab")
	d.send(tickMsg{})
	steps := []struct{ want, not string }{
		{"failures of recs-flaky · causes", "all failures"},
		{"all failures", "failures of recs-flaky"},
		{"recs-hang", "failures of"},
	}
	for i, st := range steps {
		d.press("esc")
		v := d.view()
		if !strings.Contains(v, st.want) || strings.Contains(v, st.not) {
			t.Fatalf("esc %d: want %q on screen, not %q:\n%s", i+1, st.want, st.not, v)
		}
	}
}

// In the compact tiles of 80x24 a long cause takes two lines: the
// numbers give up the bar's line for it. (NOPERM's 81 characters need
// three at 34 columns; the third is in the failure view.)
func TestCompactTileCauseWraps(t *testing.T) {
	v := startSeeded(t, onCall(), 80, 24).view()
	if strings.Contains(v, "permissio…") || !strings.Contains(v, "permissions to access one of the") || !strings.Contains(v, "40/40 100%  ✓ 0  ✗ 40") {
		t.Errorf("80x24: the NOPERM cause is cut, or its numbers gone:\n%s", v)
	}
}

// In all failures the hint names the row's loader, and R retries the
// cause in every loader that has it (RetryCause with no loader names),
// naming them.
func TestRetryCauseEverywhere(t *testing.T) {
	d := startSeeded(t, onCall(), 200, 50)
	d.press("f")
	v := strings.Join(strings.Fields(d.view()), " ")
	if !strings.Contains(v, "r retries the 90 items rejected with “503 Service Unavailable” in recs-flaky · R retries its 110 in recs-flaky, stopped") {
		t.Fatalf("the hint does not name the loaders:\n%s", d.view())
	}
	d.press("R")
	if got, want := d.causeCalls(), []string{": 503 Service Unavailable"}; !slices.Equal(got, want) {
		t.Fatalf("RetryCause calls %q, want %q", got, want)
	}
	if v := d.view(); !strings.Contains(v, "retrying 110 items rejected with “503 Service Unavailable” in recs-flaky, stopped") {
		t.Fatalf("the flash does not name the loaders:\n%s", v)
	}
}

// enter on a rejected item shows it alone, every field whole; y puts its
// URL on the clipboard (OSC 52); esc goes back to the list, then the
// causes.
func TestItemDetailAndCopy(t *testing.T) {
	const url = "http://origin/products/1234567/recommendations?page=2"
	eng := newFake(onCall())
	eng.rejections["recs-flaky"] = []warmup.Rejection{{
		Item: []byte(`{"id":7}`), Key: "recs:7", Reason: "fetch GET " + url + ": 503 Service Unavailable",
		Cause: "503 Service Unavailable", Stage: warmup.StageFetch, Attempts: 3,
	}}
	d := &driver{t: t, m: New(eng, Options{still: true}), eng: eng}
	d.send(tea.WindowSizeMsg{Width: 80, Height: 24}, tickMsg{})
	d.press("enter", "tab")
	d.send(tickMsg{})
	d.press("enter")
	v := d.view()
	for _, want := range []string{"url       " + url, "key       recs:7", "attempts  3", "stage     fetch", `item      {"id":7}`, "cause     503 Service Unavailable"} {
		if !strings.Contains(v, want) {
			t.Errorf("item detail lacks %q:\n%s", want, v)
		}
	}
	d.press("y")
	if got := clipboard(d.cmd); got != url {
		t.Errorf("y put %q on the clipboard, want %q", got, url)
	}
	if v := d.view(); !strings.Contains(v, "copied the URL") {
		t.Errorf("no flash after y:\n%s", v)
	}
	d.press("esc")
	if v := d.view(); !strings.Contains(v, "· rejected items") {
		t.Errorf("esc from the detail did not go back to the list:\n%s", v)
	}
	d.press("esc")
	if v := d.view(); !strings.Contains(v, "· causes") {
		t.Errorf("esc from the list did not go back to the causes:\n%s", v)
	}
}

// clipboard runs cmd (and the commands of a batch) and returns what it
// would put on the clipboard.
func clipboard(cmd tea.Cmd) string {
	if cmd == nil {
		return ""
	}
	switch msg := cmd().(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			if s := clipboard(c); s != "" {
				return s
			}
		}
	default:
		if v := reflect.ValueOf(msg); v.Kind() == reflect.String && v.Type().Name() == "setClipboardMsg" {
			return v.String()
		}
	}
	return ""
}

// / searches inside the failure lists and s cycles their sort.
func TestFailureSearchAndSort(t *testing.T) {
	d := startSeeded(t, onCall(), 120, 36)
	d.press("f", "/")
	if v := d.view(); !strings.Contains(v, "/ search") {
		t.Fatalf("the search prompt is cut:\n%s", v)
	}
	d.typeText("nope")
	v := d.view()
	if !strings.Contains(v, "acl-limited") || strings.Contains(v, "recs-flaky ") {
		t.Fatalf("search \"nope\" should list acl-limited's cause only:\n%s", v)
	}
	d.press("enter")
	d.press("esc") // leaves all failures: the search goes with it
	d.press("f", "s")
	v = d.view()
	if !strings.Contains(v, "sorted by loader") {
		t.Fatalf("s did not sort by loader:\n%s", v)
	}
	// By loader: acl-limited, recs-flaky, stopped, stopped.
	acl, recs, stopped := strings.Index(v, " acl-limited "), strings.Index(v, " recs-flaky "), strings.Index(v, " stopped ")
	if !(acl < recs && recs < stopped) {
		t.Fatalf("rows are not by loader:\n%s", v)
	}

	// Items by attempts, the most first.
	eng := newFake(onCall())
	eng.rejections["recs-flaky"] = []warmup.Rejection{
		{Item: []byte(`1`), Key: "recs:1", Reason: "fetch GET http://o/1: 503 Service Unavailable", Cause: "503 Service Unavailable", Attempts: 1},
		{Item: []byte(`2`), Key: "recs:2", Reason: "fetch GET http://o/2: 503 Service Unavailable", Cause: "503 Service Unavailable", Attempts: 3},
	}
	d = &driver{t: t, m: New(eng, Options{still: true}), eng: eng}
	d.send(tea.WindowSizeMsg{Width: 120, Height: 36}, tickMsg{})
	d.press("enter", "tab")
	d.send(tickMsg{})
	d.press("s", "s")
	if v := d.view(); !strings.Contains(v, "sorted by attempts") || strings.Index(v, "GET /2") > strings.Index(v, "GET /1") {
		t.Fatalf("items are not by attempts:\n%s", v)
	}
	d.press("/")
	d.typeText("recs:1")
	d.press("enter")
	if v := d.view(); strings.Contains(v, "GET /2") || !strings.Contains(v, "GET /1") {
		t.Fatalf("search recs:1 should list item 1 only:\n%s", v)
	}
	d.press("r")
	if _, retries, _ := d.eng.calls(); len(retries) != 0 {
		t.Fatalf("r retried %q while a search hid items", retries)
	}
	// Back among the causes, which are not sorted by attempts, no title
	// says they are.
	d.press("esc")
	if v := d.view(); strings.Contains(v, "sorted by") {
		t.Fatalf("the causes' title names the items' sort:\n%s", v)
	}
}

// A stop that came before any item ran out of attempts rejects them all
// "interrupted": the tile still shows the failing attempt's cause (the
// 503), read from the latest reason, not "✗ interrupted".
func TestStopBeforeAnyRejectionShowsTheRealCause(t *testing.T) {
	snap := onCall()
	for i := range snap.Loaders {
		l := &snap.Loaders[i]
		if l.Name != "stopped" {
			continue
		}
		l.LastReason = "interrupted after a failed attempt: fetch GET http://origin/p/3: 503 Service Unavailable"
		l.Causes = []warmup.CauseCount{{Cause: "interrupted", Stage: warmup.StageInterrupted, Count: 50}}
	}
	for _, sz := range sizes[:5] {
		v := startSeeded(t, snap, sz.w, sz.h).view()
		if strings.Contains(v, "✗ interrupted") || !strings.Contains(v, "✗ 503 Service Unavailable · GET /p/3") {
			t.Errorf("%dx%d: the stopped loader shows \"interrupted\" instead of the 503 it was retrying:\n%s", sz.w, sz.h, v)
		}
	}
}

// held is the outage past redis_wait in the monitor: the run
// settled, not stopped, its sources' rest unread, Redis still down.
func heldSnap() warmup.Snapshot {
	s := onCall()
	s.State, s.StopReason = warmup.StateDone, "Redis unavailable for 11s: redis 127.0.0.1:6379: connection refused"
	s.RedisDown, s.RedisCause = 14*time.Second, "redis 127.0.0.1:6379: connection refused"
	for i := range s.Loaders {
		l := &s.Loaders[i]
		l.InFlight, l.OldestInFlight, l.Retrying, l.RetryAttempt, l.Rate = 0, 0, 0, 0, 0
		if l.Name == "catalog-products" {
			// A file's rest is not counted: -1.
			l.Read, l.NotStarted, l.SourceRead = 217, -1, true
		}
		l.Rejected = l.Read - l.Fulfilled
	}
	return totals(s)
}

// A redis_wait stop is a state of the monitor, not an exit: the header
// says stopped and why, the monitor stays, R resumes reading and r
// retries.
func TestHeldRunStaysAndResumes(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{120, 36}, {200, 50}} {
		d := startSeeded(t, heldSnap(), sz.w, sz.h)
		v := d.view()
		if !strings.Contains(v, "■ stopped: Redis unavailable for 11s") {
			t.Fatalf("%dx%d: the header does not say the run stopped:\n%s", sz.w, sz.h, v)
		}
		if d.quits() {
			t.Fatalf("%dx%d: the monitor quits on a redis_wait stop", sz.w, sz.h)
		}
		if sz.w == 200 && !strings.Contains(v, "R reads on the rest") {
			t.Errorf("%dx%d: the summary does not name R:\n%s", sz.w, sz.h, v)
		}
		d.press("R")
		if d.eng.resumes != 1 || !strings.Contains(d.view(), "reading on: 1 loader from where they stopped") {
			t.Errorf("%dx%d: R called Resume %d times; screen:\n%s", sz.w, sz.h, d.eng.resumes, d.view())
		}
		d.press("r")
		if _, retries, _ := d.eng.calls(); len(retries) != 1 {
			t.Errorf("%dx%d: r retried %d times, want once", sz.w, sz.h, len(retries))
		}
	}
	// Not held (the user stopped, or nothing stopped): R does nothing.
	d := startSeeded(t, onCall(), 120, 36)
	d.press("R")
	if d.eng.resumes != 0 {
		t.Errorf("R resumed a run that Redis did not stop")
	}
}

// A --retry-from run says what it retries and what the runs before it
// fulfilled, in the header and on each tile.
func TestRetryFromSaysFulfilledBefore(t *testing.T) {
	s := onCall()
	s.RetryOf = "/var/tmp/run1.cachewarm.json"
	for i := range s.Loaders {
		s.Loaders[i].FulfilledBefore = int64(1000 * (i + 1))
		s.FulfilledBefore += s.Loaders[i].FulfilledBefore
	}
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 36}, {200, 50}} {
		v := startSeeded(t, s, sz.w, sz.h).view()
		if !strings.Contains(v, "retry of run1.cachewarm.json: 21,000 fulfilled before") {
			t.Errorf("%dx%d: the header does not say what the run retries:\n%s", sz.w, sz.h, v)
		}
		if !strings.Contains(v, "+ 5,000 before") {
			t.Errorf("%dx%d: the users tile does not say what was fulfilled before:\n%s", sz.w, sz.h, v)
		}
	}
}
