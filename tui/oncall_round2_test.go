package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup"
)

// The on-call pass's findings on the screen (#24, round two).

// threeCauses is a settled run: a flaky origin's 503s, an ACL's NOPERM and
// a catalogue's permanent 404s.
func threeCauses() warmup.Snapshot {
	return totals(warmup.Snapshot{
		Redis:   "redis://127.0.0.1:6379/0",
		State:   warmup.StateDone,
		Elapsed: 24 * time.Second,
		Loaders: []warmup.LoaderSnapshot{
			{
				Name: "flaky", Total: 300, Read: 300, Fulfilled: 210, Rejected: 90, Done: true,
				LastReason: "fetch GET http://o/r/7: 503 Service Unavailable", LastCause: "503 Service Unavailable",
				Causes: []warmup.CauseCount{{Cause: "503 Service Unavailable", Stage: warmup.StageFetch, Count: 90, Example: "GET /r/7"}},
			},
			{
				Name: "acl", Total: 40, Read: 40, Rejected: 40, Done: true,
				LastReason: "redis SET nope:40: " + noperm, LastCause: noperm,
				Causes: []warmup.CauseCount{{Cause: noperm, Stage: warmup.StageRedis, Count: 40, Example: "SET nope:40"}},
			},
			{
				Name: "catalog", Total: 100, Read: 100, Fulfilled: 70, Rejected: 30, Done: true,
				LastReason: "fetch GET http://o/p/3: 404 Not Found", LastCause: "404 Not Found",
				Causes: []warmup.CauseCount{{Cause: "404 Not Found", Stage: warmup.StageFetch, Count: 30, Example: "GET /p/3"}},
			},
		},
	})
}

// Finding 4: r on a cause of all failures, then the list re-sorts as its
// items retry and come back: the highlight follows that cause, and a
// second r never lands on another one (the permanent 404s).
func TestCauseHighlightFollowsRetriedCause(t *testing.T) {
	d := startSeeded(t, threeCauses(), 120, 36)
	d.press("f", "down")
	if r, _ := d.m.failures.SelectedCause(); r.Cause != noperm {
		t.Fatalf("highlighted %q, want the NOPERM cause", r.Cause)
	}
	d.press("r")

	// Its items retry: the cause is gone from the counts for a while.
	s := threeCauses()
	s.State = warmup.StateRetrying
	acl := &s.Loaders[1]
	acl.Rejected, acl.Retrying, acl.Causes, acl.Done = 0, 40, nil, false
	d.eng.set(totals(s))
	d.send(tickMsg{})
	r, _ := d.m.failures.SelectedCause()
	if r.Cause != noperm || !strings.Contains(d.view(), "is retrying in acl") {
		t.Errorf("while NOPERM retries the highlight is on %q, want NOPERM marked retrying:\n%s", r.Cause, d.view())
	}
	if v := d.view(); strings.Contains(v, "r retries the 30 items rejected with “404") {
		t.Errorf("the hint offers the 404s while NOPERM retries:\n%s", v)
	}
	d.press("r")
	d.eng.mu.Lock()
	calls := append([]string(nil), d.eng.causeCalls...)
	d.eng.mu.Unlock()
	if len(calls) != 1 || !strings.Contains(calls[0], "NOPERM") {
		t.Errorf("cause retries %q, want only the first NOPERM one", calls)
	}

	// They are rejected again; the 404s now count more and sort first.
	s = threeCauses()
	s.Loaders[2].Rejected, s.Loaders[2].Fulfilled, s.Loaders[2].Causes[0].Count = 95, 5, 95
	d.eng.set(totals(s))
	d.send(tickMsg{})
	if r, _ := d.m.failures.SelectedCause(); r.Cause != noperm {
		t.Errorf("after the retry the highlight is on %q, want NOPERM:\n%s", r.Cause, d.view())
	}
}

// heldStop is a run Redis stopped, held by the monitor: 424 items were
// never started.
func heldStop() warmup.Snapshot {
	s := threeCauses()
	s.StopReason = "redis unavailable: connection refused"
	s.Loaders[0].NotStarted, s.Loaders[0].Total = 424, 724
	s.NotStarted = 424
	return s
}

// Finding 6: a stopped run is never called done.
func TestHeldStopIsNotDone(t *testing.T) {
	v := startSeeded(t, heldStop(), 200, 50).view()
	lines := strings.Split(v, "\n")
	status := lines[len(lines)-2]
	if strings.Contains(status, "done") || !strings.Contains(status, "stopped after 24s · ○ 424 not started · R reads on the rest") {
		t.Errorf("status line %q, want it to say stopped after 24s, 424 not started, R reads on", status)
	}
}

// Finding 10: a tile says how many of its items were not started at
// every width, compact or full.
func TestNotStartedOnEveryTile(t *testing.T) {
	for _, sz := range append(sizes, struct{ w, h int }{120, 20}) {
		d := startSeeded(t, heldStop(), sz.w, sz.h)
		if v := d.view(); !strings.Contains(v, "○ 424 not started") {
			t.Errorf("%dx%d: the flaky tile lacks ○ 424 not started:\n%s", sz.w, sz.h, v)
		}
	}
}

// Finding 14: a compact tile wraps a long cause whole rather than cut it.
func TestCompactTileCauseWhole(t *testing.T) {
	d := startSeeded(t, onCall(), 80, 24)
	if _, h := d.m.grid.shape(); h != compactTileHeight {
		t.Fatalf("tiles %d high at 80x24, want compact", h)
	}
	v := d.view()
	if strings.Contains(v, "of the …") || !strings.Contains(v, "arguments") {
		t.Errorf("the compact tile cuts the NOPERM cause:\n%s", v)
	}
}

// Finding 11: the help overlay fits 80x24: every binding shows whole, in
// more rows of fewer columns where the terminal is narrow.
func TestHelpOverlayFits80x24(t *testing.T) {
	for _, keys := range [][]string{{"?"}, {"f", "?"}, {"enter", "tab", "?"}} {
		d := startSeeded(t, threeCauses(), 80, 24)
		d.press(keys...)
		v := d.view()
		want := []string{" help", " quit", "esc"}
		if keys[0] == "f" {
			want = append(want, "retry this cause", "retry cause in every loader")
		}
		for _, w := range want {
			if !strings.Contains(v, w) {
				t.Errorf("after %q the help lacks %q:\n%s", keys, w, v)
			}
		}
		lines := strings.Split(v, "\n")
		for _, l := range lines[len(lines)-d.m.help.Height():] {
			if strings.Contains(l, "…") {
				t.Errorf("after %q the help is cut: %q\n%s", keys, l, v)
			}
		}
	}
}

// aclRejections are the acl loader's rejected items: small items, a long
// cause.
func aclRejections(n int) []warmup.Rejection {
	rs := make([]warmup.Rejection, n)
	for i := range rs {
		k := "nope:" + itoa(i+1)
		rs[i] = warmup.Rejection{
			Item: []byte(`{"id":` + itoa(i+1) + `}`), Key: k, Cause: noperm, Stage: warmup.StageRedis,
			Reason: "redis SET " + k + ": " + noperm, Attempts: 1,
		}
	}
	return rs
}

// Finding 13: the f view's causes and the item list's causes are not cut
// while the room is there: a long cause wraps in the cause table, and
// the item column takes what a one-digit item needs, not 16 cells.
func TestFailureCausesNotCut(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 36}} {
		d := startSeeded(t, threeCauses(), sz.w, sz.h)
		d.press("f")
		v := d.view()
		if strings.Contains(v, "permissio…") || strings.Contains(v, "of the key…") || !strings.Contains(v, "arguments") {
			t.Errorf("%dx%d: all failures cut the NOPERM cause:\n%s", sz.w, sz.h, v)
		}
	}
	d := startSeeded(t, threeCauses(), 120, 36)
	d.eng.rejections["acl"] = aclRejections(40)
	d.press("tab", "enter", "tab")
	d.send(tickMsg{})
	v := d.view()
	if !strings.Contains(v, noperm+"   ") || !strings.Contains(v, "SET nope:1 ") {
		t.Errorf("the item list cuts the NOPERM cause at 120 columns:\n%s", v)
	}
}

// restarted is a run that saw Redis restart and lose keys, stopped by
// Redis and held, behind a Redis URL with a password.
func restarted() warmup.Snapshot {
	s := heldStop()
	s.Redis = "redis://:***@cache-primary.internal:6379/0"
	s.Elapsed = 83 * time.Second
	s.Rate = 143
	s.Restarts = &warmup.RestartCheck{
		Restarts: 1, Checked: 3572, Lost: 23,
		Events: []warmup.RedisRestart{{
			At: time.Date(2026, 12, 8, 5, 57, 33, 0, time.UTC), Addr: "10.0.0.5:6379", NewAddr: "10.0.0.5:6379",
			RunID: "a1b2c3d4", NewRunID: "e5f6a7b8",
		}},
	}
	return s
}

// Finding 7: the header's second line gives up its least important parts
// whole rather than cut its last ones, and the Redis target is never cut
// to "…": its host:port form takes the URL's place.
func TestHeaderShortensBeforeCutting(t *testing.T) {
	for _, w := range []int{80, 100, 120, 160, 200} {
		v := startSeeded(t, restarted(), w, 30).view()
		head := strings.Join(strings.Split(v, "\n")[:2], "\n")
		if strings.Contains(strings.NewReplacer("a1b2…", "", "e5f6…", "").Replace(head), "…") {
			t.Errorf("%d columns: the header cuts something:\n%s", w, head)
		}
		for _, want := range []string{"cache-primary.internal:6379", "✓ 280 fulfilled", "○ 424", "23 lost", "stopped"} {
			if !strings.Contains(head, want) {
				t.Errorf("%d columns: the header lacks %q:\n%s", w, want, head)
			}
		}
	}
}

// Finding 16: a Redis restart is marked ↺, not the pause glyph, and its
// lost keys, once written again, read "lost, rewritten".
func TestRestartNotice(t *testing.T) {
	s := restarted()
	lost := s
	lost.Loaders = append([]warmup.LoaderSnapshot(nil), s.Loaders...)
	lost.Loaders[1].Causes = append(lost.Loaders[1].Causes, warmup.CauseCount{Cause: warmup.CauseLost, Stage: warmup.StageRedis, Count: 23})
	for _, c := range []struct {
		snap warmup.Snapshot
		want string
		not  string
	}{
		{lost, "23 lost", "rewritten"},
		{s, "23 lost, rewritten", "⏸"},
	} {
		v := startSeeded(t, c.snap, 200, 50).view()
		head := strings.Join(strings.Split(v, "\n")[:2], "\n")
		if !strings.Contains(head, "↺ redis restarted at 05:57:33") || !strings.Contains(head, c.want) || strings.Contains(head, c.not) {
			t.Errorf("header wants ↺ and %q, not %q:\n%s", c.want, c.not, head)
		}
	}
}

// Finding 9: an item's detail lists its attempts, each with its time and
// error, and r there retries that one item, not every item listed.
func TestItemDetailAttemptsAndRetryOne(t *testing.T) {
	d := startSeeded(t, threeCauses(), 100, 30)
	rs := aclRejections(3)
	at := time.Date(2026, 12, 8, 5, 51, 9, 0, time.UTC)
	rs[1].Attempts = 3
	rs[1].History = []warmup.Attempt{
		{N: 1, At: at, Error: "redis SET nope:2: LOADING Redis is loading the dataset in memory"},
		{N: 2, At: at.Add(1500 * time.Millisecond), Error: "redis SET nope:2: " + noperm},
		{N: 3, At: at.Add(4 * time.Second), Error: "redis SET nope:2: " + noperm},
	}
	d.eng.rejections["acl"] = rs
	d.press("tab", "enter", "tab")
	d.send(tickMsg{})
	d.press("down", "enter")
	v := d.view()
	for _, want := range []string{"#1", "05:51:09.000  redis SET nope:2: LOADING", "05:51:10.500", "#3", "05:51:13.000", "r retry this item"} {
		if !strings.Contains(v, want) {
			t.Errorf("the item detail lacks %q:\n%s", want, v)
		}
	}
	d.press("r")
	d.eng.mu.Lock()
	items, retries := append([]string(nil), d.eng.itemCalls...), len(d.eng.retryCalls)
	d.eng.mu.Unlock()
	if len(items) != 1 || items[0] != "acl: nope:2" || retries != 0 {
		t.Errorf("r in the detail retried items %q and %d loaders, want acl's nope:2 alone", items, retries)
	}
	if v := d.view(); !strings.Contains(v, "retrying nope:2") {
		t.Errorf("no flash for the item retried:\n%s", v)
	}
}

// Finding 16: at 60x20 as many tiles show as fit: six loaders, in two
// columns of one-line-cause tiles, rather than two tiles and blank rows.
func TestSmallTerminalShowsEveryTile(t *testing.T) {
	v := startSeeded(t, onCall(), 60, 20).view()
	for _, l := range onCall().Loaders {
		if !strings.Contains(v, l.Name) {
			t.Errorf("%s is not shown at 60x20:\n%s", l.Name, v)
		}
	}
	lines := strings.Split(v, "\n")
	if foot := lines[len(lines)-1]; !strings.Contains(foot, "? help") || !strings.Contains(foot, "q quit") {
		t.Errorf("the key line lacks ? help or q quit: %q", foot)
	}
}

// Finding 16: a restart's lost keys written again read "rewriting N
// lost", not "retrying N (attempt 3)".
func TestRewritingLostKeysTile(t *testing.T) {
	s := onCall()
	c := &s.Loaders[3]
	c.RetryingCause, c.RetryAttempt = warmup.CauseLost, 3
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 36}, {200, 50}} {
		v := startSeeded(t, s, sz.w, sz.h).view()
		if !strings.Contains(v, "↻ rewriting 83") || strings.Contains(v, "attempt 3") {
			t.Errorf("%dx%d: the lost keys' rewrite is not labelled so:\n%s", sz.w, sz.h, v)
		}
	}
}
