package tui

import (
	"fmt"
	"image/color"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/charmbracelet/x/ansi"
)

// key builds the key press for a key name as key.Binding spells it.
func keyMsg(name string) tea.KeyPressMsg {
	switch name {
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r, n := utf8.DecodeRuneInString(name)
	if n != len(name) {
		panic("unknown key " + name)
	}
	return tea.KeyPressMsg{Code: r, Text: name}
}

// driver feeds messages to the root model the way the program would, and
// keeps the last command.
type driver struct {
	t   *testing.T
	m   Model
	eng *fakeEngine
	cmd tea.Cmd
}

func start(t *testing.T, snap warmup.Snapshot, w, h int, opts Options) *driver {
	t.Helper()
	eng := newFake(snap)
	eng.rejections["sessions"] = sessionRejections(30)
	opts.still = true
	d := &driver{t: t, m: New(eng, opts), eng: eng}
	d.send(tea.WindowSizeMsg{Width: w, Height: h}, tickMsg{})
	return d
}

func (d *driver) send(msgs ...tea.Msg) {
	d.t.Helper()
	for _, msg := range msgs {
		next, cmd := d.m.Update(msg)
		m, ok := next.(Model)
		if !ok {
			d.t.Fatalf("Update returned %T, want Model", next)
		}
		d.m, d.cmd = m, cmd
	}
}

func (d *driver) press(names ...string) {
	d.t.Helper()
	for _, n := range names {
		d.send(keyMsg(n))
	}
}

// typeText types text into whatever has the focus.
func (d *driver) typeText(s string) {
	d.t.Helper()
	for _, r := range s {
		d.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// view is the screen without colours or attributes.
func (d *driver) view() string { return ansi.Strip(d.m.View().Content) }

func (d *driver) selected() string {
	l, ok := d.m.grid.Selected()
	if !ok {
		return ""
	}
	return l.Name
}

// quits reports whether the last command quits the program. A command
// still running after a while (a tick, the watch of a quiet run) does not.
func (d *driver) quits() bool {
	if d.cmd == nil {
		return false
	}
	got := make(chan tea.Msg, 1)
	go func() { got <- d.cmd() }()
	select {
	case msg := <-got:
		_, ok := msg.(tea.QuitMsg)
		return ok
	case <-time.After(tickInterval + 50*time.Millisecond):
		return false
	}
}

func TestSelectionMovement(t *testing.T) {
	// midRun has five loaders: products users prices sessions homepage.
	// At 80 columns they are laid out two per row:
	//   products users / prices sessions / homepage
	// and at 120 columns three per row:
	//   products users prices / sessions homepage
	tests := []struct {
		name  string
		width int
		keys  []string
		want  string
	}{
		{"first is selected", 80, nil, "products"},
		{"right", 80, []string{"right"}, "users"},
		{"right crosses rows", 80, []string{"right", "right"}, "prices"},
		{"left stops at the first", 80, []string{"left"}, "products"},
		{"right stops at the last", 80, slices.Repeat([]string{"right"}, 9), "homepage"},
		{"down", 80, []string{"down"}, "prices"},
		{"down twice", 80, []string{"down", "down"}, "homepage"},
		{"down stops at the last row", 80, []string{"down", "down", "down"}, "homepage"},
		{"down into a partial row goes to its last tile", 80, []string{"right", "down", "down"}, "homepage"},
		{"up stops at the first row", 80, []string{"up"}, "products"},
		{"down then up", 80, []string{"right", "down", "up"}, "users"},
		{"tab", 80, []string{"tab"}, "users"},
		{"tab wraps to the first", 80, slices.Repeat([]string{"tab"}, 5), "products"},
		{"shift+tab wraps to the last", 80, []string{"shift+tab"}, "homepage"},
		{"shift+tab", 80, []string{"tab", "tab", "shift+tab"}, "users"},
		{"l", 80, []string{"l"}, "users"},
		{"j", 80, []string{"j"}, "prices"},
		{"h", 80, []string{"l", "h"}, "products"},
		{"k", 80, []string{"j", "k"}, "products"},
		{"down with three columns", 120, []string{"down"}, "sessions"},
		{"down into a partial row with three columns", 120, []string{"right", "right", "down"}, "homepage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, midRun(), tc.width, 40, Options{})
			d.press(tc.keys...)
			if got := d.selected(); got != tc.want {
				t.Fatalf("selected %q, want %q", got, tc.want)
			}
			if v := d.view(); !strings.Contains(v, symSelected+" "+tc.want) {
				t.Fatalf("view does not mark %q as selected:\n%s", tc.want, v)
			}
			if n := strings.Count(d.view(), symSelected); n != 1 {
				t.Fatalf("%d tiles marked as selected, want 1", n)
			}
		})
	}
}

func TestSelectionScrollsIntoView(t *testing.T) {
	// 80x18 shows two rows of compact tiles; homepage is on the third.
	d := start(t, midRun(), 80, 18, Options{})
	if v := d.view(); strings.Contains(v, "homepage") || !strings.Contains(v, "↓ 1 more row") {
		t.Fatalf("homepage should be below the fold:\n%s", v)
	}
	d.press("shift+tab")
	v := d.view()
	if !strings.Contains(v, symSelected+" homepage") || strings.Contains(v, "products") {
		t.Fatalf("selecting homepage should scroll it into view:\n%s", v)
	}
	if !strings.Contains(v, "↑ 1 more row") {
		t.Fatalf("no scroll indicator:\n%s", v)
	}
}

func TestFilter(t *testing.T) {
	tiles := func(v string) []string {
		var got []string
		for _, n := range []string{"products", "users", "prices", "sessions", "homepage"} {
			if strings.Contains(v, " "+n+" ") {
				got = append(got, n)
			}
		}
		return got
	}
	tests := []struct {
		name   string
		typed  string
		keys   []string // after typing
		want   []string
		sel    string
		status string // text the screen must show
	}{
		{"narrows to one", "sess", nil, []string{"sessions"}, "sessions", "1 of 5 loaders"},
		{"case-insensitive substring", "ES", nil, []string{"prices", "sessions"}, "prices", "2 of 5 loaders"},
		{"enter keeps the filter", "pr", []string{"enter"}, []string{"products", "prices"}, "products", "2 of 5 loaders"},
		{"esc clears it", "pr", []string{"esc"}, []string{"products", "users", "prices", "sessions", "homepage"}, "products", ""},
		{"esc after enter clears it", "pr", []string{"enter", "esc"}, []string{"products", "users", "prices", "sessions", "homepage"}, "products", ""},
		{"backspace widens", "sessx", []string{"backspace"}, []string{"sessions"}, "sessions", "1 of 5 loaders"},
		{"no match", "zzz", nil, nil, "", "no loader name contains “zzz”"},
		{"movement stays within the filtered tiles", "pr", []string{"enter", "right", "right"}, []string{"products", "prices"}, "prices", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, midRun(), 100, 40, Options{})
			d.press("/")
			if !d.m.grid.Filtering() {
				t.Fatal("/ did not focus the filter")
			}
			d.typeText(tc.typed)
			d.press(tc.keys...)
			v := d.view()
			if got := tiles(v); !slices.Equal(got, tc.want) {
				t.Fatalf("tiles %v, want %v:\n%s", got, tc.want, v)
			}
			if got := d.selected(); got != tc.sel {
				t.Fatalf("selected %q, want %q", got, tc.sel)
			}
			if tc.status != "" && !strings.Contains(v, tc.status) {
				t.Fatalf("screen lacks %q:\n%s", tc.status, v)
			}
		})
	}
}

func TestFilterTakesTypedKeys(t *testing.T) {
	d := start(t, midRun(), 100, 40, Options{})
	d.press("/")
	d.typeText("qr?")
	stops, retries, _ := d.eng.calls()
	if stops != 0 || len(retries) != 0 || d.quits() || d.m.showHelp {
		t.Fatalf("keys typed into the filter acted: stops=%d retries=%v help=%v", stops, retries, d.m.showHelp)
	}
	if got := d.m.grid.filter.Value(); got != "qr?" {
		t.Fatalf("filter value %q, want %q", got, "qr?")
	}
	d.press("ctrl+c")
	if stops, _, _ := d.eng.calls(); stops != 1 {
		t.Fatalf("ctrl+c in the filter: %d Stop calls, want 1", stops)
	}
}

func TestFailureView(t *testing.T) {
	d := start(t, doneWithFailures(), 100, 30, Options{})
	d.press("tab", "tab", "tab") // sessions
	if d.selected() != "sessions" {
		t.Fatalf("selected %q", d.selected())
	}
	d.press("enter")
	if d.m.screen != screenFailures {
		t.Fatal("enter did not open the failure view")
	}
	// It opens on the causes, the most frequent first, each in full.
	v := d.view()
	for _, want := range []string{"failures of sessions · causes", "cause", "items", "share", "example",
		"OOM command not allowed when used memory > 'maxmemory'  20", "67%", "SET session:80",
		"redis 10.0.0.5:6379: connection refused", "r retries the 20 items rejected with “OOM command not allowed when used memory > 'maxmemory'”"} {
		if !strings.Contains(v, want) {
			t.Fatalf("cause summary lacks %q:\n%s", want, v)
		}
	}
	if _, _, rej := d.eng.calls(); len(rej) != 0 {
		t.Fatalf("the cause summary read the rejected items: %v", rej)
	}
	d.press("tab")
	v = d.view()
	for _, want := range []string{"· rejected items", "cause", "detail", "attempts", "SET session:80", "row 1/30", "(used_memory=1073741000"} {
		if !strings.Contains(v, want) {
			t.Fatalf("failure view lacks %q:\n%s", want, v)
		}
	}
	d.press("down", "j")
	if v := d.view(); !strings.Contains(v, "row 3/30") || !strings.Contains(v, "key session:82") {
		t.Fatalf("down did not move the highlight:\n%s", v)
	}
	d.press("G")
	if v := d.view(); !strings.Contains(v, "row 30/30") {
		t.Fatalf("G did not go to the last row:\n%s", v)
	}
	// The full reason is wrapped below the table, not cut.
	if v := d.view(); !strings.Contains(v, "is 2077 bytes") {
		t.Fatalf("full reason not shown:\n%s", v)
	}
	d.press("tab")
	if v := d.view(); !strings.Contains(v, "· causes") {
		t.Fatalf("tab did not go back to the causes:\n%s", v)
	}
	d.press("esc")
	if d.m.screen != screenGrid {
		t.Fatal("esc did not go back to the grid")
	}
	if v := d.view(); !strings.Contains(v, symSelected+" sessions") {
		t.Fatalf("grid after esc:\n%s", v)
	}
}

func TestFailureViewFetchesOnlyWhenOpenAndChanged(t *testing.T) {
	d := start(t, midRun(), 100, 30, Options{})
	d.send(tickMsg{}, tickMsg{})
	if _, _, rej := d.eng.calls(); len(rej) != 0 {
		t.Fatalf("the grid fetched rejections: %v", rej)
	}
	d.press("tab", "tab", "tab", "enter")
	d.send(tickMsg{}, tickMsg{})
	if _, _, rej := d.eng.calls(); len(rej) != 0 {
		t.Fatalf("the cause summary fetched rejections: %v", rej)
	}
	d.press("tab")
	d.send(tickMsg{}, tickMsg{}, tickMsg{})
	if _, _, rej := d.eng.calls(); !slices.Equal(rej, []string{"sessions"}) {
		t.Fatalf("rejections fetched %v, want once for sessions", rej)
	}
	// A change in the loader's counters fetches again, once.
	s := midRun()
	s.Loaders[3].Rejected, s.Loaders[3].Retrying = 10, 20
	d.eng.set(s)
	d.send(tickMsg{}, tickMsg{})
	if _, _, rej := d.eng.calls(); !slices.Equal(rej, []string{"sessions", "sessions"}) {
		t.Fatalf("rejections fetched %v, want twice for sessions", rej)
	}
	d.press("esc")
	d.send(tickMsg{})
	if _, _, rej := d.eng.calls(); len(rej) != 2 {
		t.Fatalf("rejections fetched after leaving the view: %v", rej)
	}
}

func TestHelpToggle(t *testing.T) {
	for _, screen := range []string{"grid", "failures"} {
		t.Run(screen, func(t *testing.T) {
			d := start(t, midRun(), 100, 30, Options{})
			if screen == "failures" {
				d.press("tab", "tab", "tab", "enter")
			}
			full := "shift+tab"
			if screen == "failures" {
				full = "pgdn"
			}
			if strings.Contains(d.view(), full) {
				t.Fatalf("full help shown before ?:\n%s", d.view())
			}
			d.press("?")
			if !strings.Contains(d.view(), full) {
				t.Fatalf("? did not show the full help:\n%s", d.view())
			}
			d.press("?")
			if strings.Contains(d.view(), full) {
				t.Fatalf("? did not hide the full help:\n%s", d.view())
			}
			d.press("?", "esc")
			if strings.Contains(d.view(), full) {
				t.Fatalf("esc did not close the full help:\n%s", d.view())
			}
		})
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name        string
		snap        warmup.Snapshot
		keys        []string // before r
		result      int      // what Retry returns; -1 counts the rejected
		wantCalls   [][]string
		wantMessage string
	}{
		{"grid retries every loader", doneWithFailures(), nil, -1, [][]string{nil}, "retrying 34 rejected items"},
		{"item list retries its loader", doneWithFailures(), []string{"tab", "tab", "tab", "enter", "tab"}, -1, [][]string{{"sessions"}}, "retrying 30 rejected items"},
		{"filtered grid retries the loaders shown", doneWithFailures(), []string{"/", "s", "e", "enter"}, -1, [][]string{{"users", "sessions"}}, "retrying 30 rejected items of 2 loaders shown"},
		{"filter showing no rejections", doneWithFailures(), []string{"/", "p", "r", "i", "enter"}, -1, nil, "nothing to retry: no loader shown has rejected items"},
		{"grid with nothing rejected", allFulfilled(), nil, -1, nil, "nothing to retry"},
		{"failure view of a loader without rejections", doneWithFailures(), []string{"tab", "tab", "enter", "tab"}, -1, nil, "nothing to retry"},
		{"cause summary of a loader without rejections", doneWithFailures(), []string{"tab", "tab", "enter"}, -1, nil, "nothing to retry"},
		{"cause rejected at the source", doneWithFailures(), []string{"tab", "tab", "tab", "enter", "down", "down"}, -1, nil, "not retried: items rejected at the source"},
		{"engine found nothing to queue", doneWithFailures(), nil, 0, [][]string{nil}, "nothing to retry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, tc.snap, 100, 30, Options{})
			d.eng.retryResult = tc.result
			d.press(tc.keys...)
			d.send(tickMsg{})
			d.press("r")
			_, calls, _ := d.eng.calls()
			if len(calls) != len(tc.wantCalls) {
				t.Fatalf("Retry calls %q, want %q", calls, tc.wantCalls)
			}
			for i := range calls {
				if !slices.Equal(calls[i], tc.wantCalls[i]) {
					t.Fatalf("Retry calls %q, want %q", calls, tc.wantCalls)
				}
			}
			if v := d.view(); !strings.Contains(v, tc.wantMessage) {
				t.Fatalf("screen lacks %q:\n%s", tc.wantMessage, v)
			}
		})
	}
}

func TestFlashExpires(t *testing.T) {
	d := start(t, allFulfilled(), 100, 30, Options{})
	d.press("r")
	for range flashTicks - 1 {
		d.send(tickMsg{})
	}
	if !strings.Contains(d.view(), "nothing to retry") {
		t.Fatal("flash gone too early")
	}
	d.send(tickMsg{})
	if v := d.view(); strings.Contains(v, "nothing to retry") || !strings.Contains(v, "done in 41s") {
		t.Fatalf("flash did not give way to the summary:\n%s", v)
	}
}

func TestRetryingTile(t *testing.T) {
	d := start(t, midRun(), 100, 30, Options{})
	if v := d.view(); !strings.Contains(v, "retrying 1 (attempt 2)") {
		t.Fatalf("the tile being retried does not say so:\n%s", v)
	}
}

func TestQuit(t *testing.T) {
	tests := []struct {
		name      string
		snap      warmup.Snapshot
		key       string
		wantStops int // after the first press
		firstQuit bool
	}{
		{"q while running stops first", midRun(), "q", 1, false},
		{"ctrl+c while running stops first", midRun(), "ctrl+c", 1, false},
		{"q when done quits at once", doneWithFailures(), "q", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, tc.snap, 100, 30, Options{})
			d.press(tc.key)
			stops, _, _ := d.eng.calls()
			if stops != tc.wantStops {
				t.Fatalf("Stop called %d times, want %d", stops, tc.wantStops)
			}
			if got := d.quits(); got != tc.firstQuit {
				t.Fatalf("first press quits=%v, want %v", got, tc.firstQuit)
			}
			if tc.firstQuit {
				return
			}
			if v := d.view(); !strings.Contains(v, "stopping") || !strings.Contains(v, "q again quits now") {
				t.Fatalf("no stop notice:\n%s", v)
			}
			d.press(tc.key)
			if !d.quits() {
				t.Fatal("second press did not quit")
			}
			if stops, _, _ := d.eng.calls(); stops != 1 {
				t.Fatalf("Stop called %d times, want 1", stops)
			}
		})
	}
}

func TestExitWhenDone(t *testing.T) {
	d := start(t, midRun(), 100, 30, Options{ExitWhenDone: true})
	if d.quits() {
		t.Fatal("quit while running")
	}
	d.eng.set(doneWithFailures())
	d.send(tickMsg{})
	if !d.quits() {
		t.Fatal("did not quit once done")
	}

	d = start(t, doneWithFailures(), 100, 30, Options{})
	if d.quits() {
		t.Fatal("quit by itself without ExitWhenDone")
	}
	if v := d.view(); !strings.Contains(v, "done in 41s · ✓ 7,119 fulfilled · ✗ 34 rejected") {
		t.Fatalf("no summary line:\n%s", v)
	}
}

func TestStatesReadWithoutColour(t *testing.T) {
	d := start(t, midRun(), 100, 40, Options{Demo: true})
	v := d.view()
	for _, want := range []string{
		"DEMO", "● running", "✓ 4,482 fulfilled", "✗ 34 rejected", "2,637 pending", "343 items/s", "elapsed 12s",
		"✓ ok", "✗ 30 rejected", "↻ retrying 1 (attempt 2)",
		"✓ 1,200 fulfilled  ✗ 3 rejected", "p95 80ms  8 in flight, oldest 2s", "✗ 503 Service Unavailable · GET /products/871",
		"2,500/5,000  50%", "1,203 settled of 1,340 read (streaming)",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
	// The state is in the border type too: rounded while running, normal
	// when all fulfilled, double with rejections.
	for _, want := range []string{"╭", "┌", "╔"} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q border", want)
		}
	}
	if t.Failed() {
		t.Log(v)
	}
}

func TestLayoutFits(t *testing.T) {
	sizes := [][2]int{{80, 24}, {100, 30}, {120, 40}, {200, 50}, {200, 60}, {60, 20}, {81, 25}}
	scenes := map[string][]string{
		"grid":              nil,
		"help":              {"?"},
		"filter":            {"/", "s"},
		"failures":          {"tab", "tab", "tab", "enter"},
		"failure items":     {"tab", "tab", "tab", "enter", "tab"},
		"all failures":      {"f"},
		"failures and help": {"tab", "tab", "tab", "enter", "?"},
	}
	for name, keys := range scenes {
		d := start(t, doneWithFailures(), 80, 24, Options{})
		seedHistory(d.m.history, d.m.snap)
		d.press(keys...)
		d.send(tickMsg{})
		// Resize with the scene open: everything reflows.
		for _, sz := range sizes {
			d.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			// Each component fits in what it was given, before the root
			// clips the screen.
			body := d.m.grid.View()
			if d.m.screen == screenFailures {
				body = d.m.failures.View()
			}
			for part, s := range map[string]string{"header": d.m.header.View(), "body": body, "help": d.m.help.View()} {
				for i, l := range strings.Split(s, "\n") {
					if w := lipgloss.Width(l); w > sz[0] {
						t.Errorf("%s at %dx%d: %s line %d is %d wide", name, sz[0], sz[1], part, i, w)
					}
				}
			}
			lines := strings.Split(d.view(), "\n")
			if len(lines) > sz[1] {
				t.Errorf("%s at %dx%d: %d lines", name, sz[0], sz[1], len(lines))
			}
			for i, l := range lines {
				if w := lipgloss.Width(l); w > sz[0] {
					t.Errorf("%s at %dx%d: line %d is %d wide: %q", name, sz[0], sz[1], i, w, l)
				}
			}
			// The header's rule spans the window.
			if !strings.Contains(d.view(), strings.Repeat("─", sz[0])) {
				t.Errorf("%s at %dx%d: header rule does not span the width", name, sz[0], sz[1])
			}
		}
	}
}

// TestOneTickLoop checks that exactly one snapshot loop runs: Init starts
// it with one immediate tick and every tick schedules exactly one more.
func TestOneTickLoop(t *testing.T) {
	eng := newFake(midRun())
	m := New(eng, Options{still: true})
	ticks := 0
	var run func(cmd tea.Cmd)
	run = func(cmd tea.Cmd) {
		if cmd == nil {
			return
		}
		switch msg := cmd().(type) {
		case tea.BatchMsg:
			for _, c := range msg {
				run(c)
			}
		case tickMsg:
			ticks++
		}
	}
	run(m.Init())
	if ticks != 1 {
		t.Fatalf("Init starts %d ticks, want 1", ticks)
	}
	_, cmd := m.Update(tickMsg{})
	ticks = 0
	run(cmd)
	if ticks != 1 {
		t.Fatalf("a tick schedules %d ticks, want 1", ticks)
	}
}

func TestReflowColumns(t *testing.T) {
	for _, tc := range []struct{ width, cols int }{{80, 2}, {100, 2}, {120, 3}, {200, 5}, {60, 1}} {
		d := start(t, allFulfilled(), tc.width, 60, Options{})
		first := strings.Split(d.view(), "\n")[headerHeight]
		if got := strings.Count(first, "┌"); got != tc.cols {
			t.Errorf("width %d: %d tiles in the first row, want %d:\n%s", tc.width, got, tc.cols, first)
		}
	}
}

func TestBackgroundColour(t *testing.T) {
	d := start(t, midRun(), 100, 30, Options{})
	dark := d.m.ctx.Styles.BarFull
	d.send(tea.BackgroundColorMsg{Color: color.White})
	if d.m.ctx.Dark {
		t.Fatal("a white background is not dark")
	}
	if d.m.ctx.Styles.BarFull == dark || d.m.grid.tile.bar.FullColor == dark {
		t.Fatal("styles not rebuilt for a light background")
	}
	d.send(tea.BackgroundColorMsg{Color: color.Black})
	if !d.m.ctx.Dark || d.m.grid.tile.bar.FullColor != dark {
		t.Fatal("styles not rebuilt for a dark background")
	}
}

func TestViewSettings(t *testing.T) {
	d := start(t, midRun(), 100, 30, Options{})
	v := d.m.View()
	if !v.AltScreen {
		t.Error("not in the alternate screen")
	}
	if v.MouseMode != tea.MouseModeNone {
		t.Error("the mouse is captured: text cannot be selected")
	}
	cmd := New(d.eng, Options{}).Init()
	if cmd == nil {
		t.Fatal("Init returns no command")
	}
}

func TestFormat(t *testing.T) {
	counts := map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500", 100000: "100,000"}
	for n, want := range counts {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
	for _, tc := range []struct {
		got, want string
	}{
		{elapsed(41e9), "41s"},
		{elapsed(187e9), "3m07s"},
		{elapsed(3720e9), "1h02m"},
		{latency(850e3), "850µs"},
		{latency(12e6), "12ms"},
		{latency(1250e6), "1.2s"},
		{latency(0), "–"},
		{rate(3.14), "3.1"},
		{rate(342.7), "343"},
		{oneLine("a\n\tb  c"), "a b c"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// A run stopped from outside (a signal) quits the monitor once it has
// settled; a run that simply finished keeps it open.
func TestQuitsWhenStoppedRunSettles(t *testing.T) {
	tests := []struct {
		name    string
		stopped bool
		quits   bool
	}{
		{"finished", false, false},
		{"stopped by a signal", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, midRun(), 100, 30, Options{})
			done := doneWithFailures()
			done.Stopped = tc.stopped
			d.eng.set(done)
			d.send(tickMsg{})
			if got := d.quits(); got != tc.quits {
				t.Fatalf("quits=%v, want %v", got, tc.quits)
			}
		})
	}
}

// The DEMO badge comes from the monitor's options, not from the engine.
func TestDemoBadgeFromOptions(t *testing.T) {
	tests := []struct {
		name string
		demo bool
	}{
		{"demo", true},
		{"real run", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, midRun(), 100, 30, Options{Demo: tc.demo})
			header := strings.SplitN(d.view(), "\n", 2)[0]
			if got := strings.Contains(header, "DEMO"); got != tc.demo {
				t.Fatalf("DEMO badge shown %v, want %v:\n%s", got, tc.demo, header)
			}
		})
	}
}

// After r in the item list, the list is read again once the retry has
// settled, and drawn whole: every row, not the one the table had while
// the retry emptied it.
func TestItemListRereadAfterRetry(t *testing.T) {
	d := start(t, doneWithFailures(), 100, 40, Options{})
	d.eng.rejections["sessions"] = sessionRejections(11)
	before := doneWithFailures()
	before.Loaders[3].Rejected, before.Loaders[3].Fulfilled = 11, 789
	d.eng.set(totals(before))
	d.send(tickMsg{})
	d.press("tab", "tab", "tab", "enter", "tab", "down", "down", "down", "down", "down")
	if v := d.view(); !strings.Contains(v, "row 6/11") {
		t.Fatalf("item list before the retry:\n%s", v)
	}
	d.press("r")

	// The retry takes the items, one fails at once, the rest in a tick.
	during := before
	during.Loaders = slices.Clone(before.Loaders)
	during.Loaders[3].Rejected, during.Loaders[3].Retrying = 1, 10
	d.eng.set(totals(during))
	d.eng.mu.Lock()
	d.eng.rejections["sessions"] = sessionRejections(1)
	d.eng.mu.Unlock()
	d.send(tickMsg{})

	again := sessionRejections(11)
	for i := range again {
		again[i].Attempts = 7
	}
	d.eng.mu.Lock()
	d.eng.rejections["sessions"] = again
	d.eng.mu.Unlock()
	d.eng.set(totals(before)) // the same counts as before the retry
	d.send(tickMsg{})
	v := d.view()
	for i := range 11 {
		if key := fmt.Sprintf("SET session:%d ", 80+i); !strings.Contains(v, key) {
			t.Errorf("row %q not drawn after the retry settled", key)
		}
	}
	if !strings.Contains(v, "attempts 7") {
		t.Errorf("the list was not read again after the retry")
	}
	if t.Failed() {
		t.Log(v)
	}
}

// A retry that settles between two ticks with the counts it started
// from still has the list read again: the attempts changed.
func TestItemListRereadAfterQuickRetry(t *testing.T) {
	d := start(t, doneWithFailures(), 100, 40, Options{})
	d.eng.rejections["sessions"] = sessionRejections(11)
	before := doneWithFailures()
	before.Loaders[3].Rejected, before.Loaders[3].Fulfilled = 11, 789
	d.eng.set(totals(before))
	d.send(tickMsg{})
	d.press("tab", "tab", "tab", "enter", "tab", "down", "down", "down", "down", "down")
	if v := d.view(); !strings.Contains(v, "row 6/11") {
		t.Fatalf("item list before the retry:\n%s", v)
	}
	d.press("r")

	// The retry settles between two ticks, every item rejected again:
	// the counts are those of before.
	again := sessionRejections(11)
	for i := range again {
		again[i].Attempts = 7
	}
	d.eng.mu.Lock()
	d.eng.rejections["sessions"] = again
	d.eng.mu.Unlock()
	d.eng.set(totals(before)) // the same counts as before the retry
	d.send(tickMsg{})
	v := d.view()
	for i := range 11 {
		if key := fmt.Sprintf("SET session:%d ", 80+i); !strings.Contains(v, key) {
			t.Errorf("row %q not drawn after the retry settled", key)
		}
	}
	if !strings.Contains(v, "attempts 7") {
		t.Errorf("the list was not read again after the retry")
	}
	if t.Failed() {
		t.Log(v)
	}
}

// A loader back to no rejections shows none on its tile, whatever the
// last reason was.
func TestTileWithoutRejectionsShowsNoReason(t *testing.T) {
	s := doneWithFailures()
	l := &s.Loaders[0]
	l.Fulfilled, l.Rejected, l.Causes = l.Total, 0, nil // back to ✓ ok after a retry
	d := start(t, totals(s), 100, 30, Options{})
	v := d.view()
	if strings.Contains(v, "503 Service Unavailable") || strings.Contains(v, "products/871") {
		t.Fatalf("a tile without rejections shows an old one:\n%s", v)
	}
}

// Items left alone because their key was warm are counted apart, on the
// loader's tile and in the header.
func TestWarmCountShows(t *testing.T) {
	s := doneWithFailures()
	s.Loaders[0].Warm = 1204
	s = totals(s)
	s.Warm = 1204
	d := start(t, s, 120, 30, Options{})
	v := d.view()
	if n := strings.Count(v, "(1,204 warm)"); n != 3 {
		t.Fatalf("warm count shown %d times, want on the tile, in the header and in the summary:\n%s", n, v)
	}
}

// isTick reports whether cmd delivers a tick within a tick's interval.
func isTick(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	got := make(chan bool, 1)
	go func() {
		_, ok := cmd().(tickMsg)
		got <- ok
	}()
	select {
	case ok := <-got:
		return ok
	case <-time.After(tickInterval + 50*time.Millisecond):
		return false
	}
}

// A finished, quiet run is not redrawn on a tick; a retry starts the tick
// again, and a stop by a signal wakes the monitor so that it quits.
func TestNoTicksWhileQuiet(t *testing.T) {
	d := start(t, midRun(), 100, 30, Options{})
	if !isTick(d.cmd) || !d.m.ticking {
		t.Fatal("a running run is not ticking")
	}
	d.eng.set(doneWithFailures())
	d.send(tickMsg{})
	if isTick(d.cmd) || d.m.ticking {
		t.Fatal("a finished run still ticks")
	}
	d.send(spinner.TickMsg{})
	if d.cmd != nil {
		t.Fatal("the spinner still turns in a finished run")
	}
	d.press("r")
	if !d.m.ticking || d.cmd == nil {
		t.Fatal("a retry did not start the tick again")
	}

	d = start(t, doneWithFailures(), 100, 30, Options{})
	watch := d.cmd
	stopped := doneWithFailures()
	stopped.Stopped = true
	d.eng.set(stopped)
	got := make(chan tea.Msg, 1)
	go func() { got <- watch() }()
	select {
	case msg := <-got:
		d.send(msg)
		if !d.quits() {
			t.Fatal("a stop while quiet did not quit the monitor")
		}
	case <-time.After(10 * idlePoll):
		t.Fatal("a stop while quiet did not wake the monitor")
	}
}

// r in a cause summary retries that cause only; in all failures, the
// highlighted loader's cause.
func TestRetryByCause(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		want string
		msg  string
	}{
		{"loader's causes", []string{"tab", "tab", "tab", "enter", "down"}, "sessions: redis 10.0.0.5:6379: connection refused",
			"retrying 7 items rejected with “redis 10.0.0.5:6379: connection refused”"},
		{"all failures", []string{"f", "down", "down", "down"}, "products: 503 Service Unavailable",
			"retrying 2 items rejected with “503 Service Unavailable”"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, doneWithFailures(), 100, 30, Options{})
			d.press(tc.keys...)
			d.press("r")
			d.eng.mu.Lock()
			calls := slices.Clone(d.eng.causeCalls)
			d.eng.mu.Unlock()
			if !slices.Equal(calls, []string{tc.want}) {
				t.Fatalf("RetryCause calls %q, want %q", calls, tc.want)
			}
			if _, retries, _ := d.eng.calls(); len(retries) != 0 {
				t.Fatalf("Retry called %q: every cause retried", retries)
			}
			if v := d.view(); !strings.Contains(v, tc.msg) {
				t.Fatalf("screen lacks %q:\n%s", tc.msg, v)
			}
		})
	}
}

// enter in all failures opens the highlighted cause's loader; esc goes
// back to all failures, and again to the grid.
func TestAllFailuresOpensTheLoader(t *testing.T) {
	d := start(t, doneWithFailures(), 120, 40, Options{})
	d.press("f")
	if v := d.view(); !strings.Contains(v, "all failures") || !strings.Contains(v, "loader") {
		t.Fatalf("f did not show all failures:\n%s", v)
	}
	d.press("down", "down", "down", "enter")
	if v := d.view(); !strings.Contains(v, "failures of products · causes") || !strings.Contains(v, "timeout after 5s") {
		t.Fatalf("enter did not open the loader of the highlighted cause:\n%s", v)
	}
	d.press("esc")
	if d.m.screen != screenFailures || !d.m.failures.All() {
		t.Fatal("esc did not go back to all failures")
	}
	d.press("esc")
	if d.m.screen != screenGrid {
		t.Fatal("esc did not go back to the grid")
	}
}

// With a filter, the key help says r retries the loaders shown.
func TestFilteredRetryHelp(t *testing.T) {
	d := start(t, doneWithFailures(), 120, 30, Options{})
	if v := d.view(); !strings.Contains(v, "r retry rejected") {
		t.Fatalf("help without a filter:\n%s", v)
	}
	d.press("/", "s", "e", "enter")
	if v := d.view(); !strings.Contains(v, "r retry shown") {
		t.Fatalf("help with a filter does not say r retries the loaders shown:\n%s", v)
	}
}

// At 80 columns every view's key line still ends with ? and q, with a
// filter too: an on-call engineer in a small terminal can always see how
// to quit.
func TestKeyLineKeepsQuitAt80Columns(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"grid", nil},
		{"grid filtered", []string{"/", "s", "e", "enter"}},
		{"failures", []string{"enter"}},
		{"failure items", []string{"enter", "tab"}},
		{"all failures", []string{"f"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, doneWithFailures(), 80, 24, Options{})
			d.press(tc.keys...)
			lines := strings.Split(strings.TrimRight(ansi.Strip(d.view()), "\n"), "\n")
			last := strings.TrimRight(lines[len(lines)-1], " ")
			if !strings.HasSuffix(last, "? help • q quit") {
				t.Fatalf("key line %q does not end with ? and q:\n%s", last, strings.Join(lines, "\n"))
			}
		})
	}
}

// causeCalls are the RetryCause calls so far.
func (d *driver) causeCalls() []string {
	d.eng.mu.Lock()
	defer d.eng.mu.Unlock()
	return slices.Clone(d.eng.causeCalls)
}

// The highlight of a cause table stays on its cause when the rows are
// sorted anew, so that r retries the cause the user chose.
func TestCauseHighlightFollowsItsCause(t *testing.T) {
	d := start(t, withLongLoader(), 120, 40, Options{})
	d.press("f", "down", "down", "down")
	if v := d.view(); !strings.Contains(v, "r retries the 11 items rejected with “404 Not Found”") {
		t.Fatalf("hint does not name the highlighted cause:\n%s", v)
	}
	// The 404s overtake every other cause: their row moves to the top.
	s := withLongLoader()
	s.Loaders[0].Causes[2].Count = 200
	s.Loaders[0].Rejected += 189
	d.eng.set(totals(s))
	d.send(tickMsg{})
	if v := d.view(); !strings.Contains(v, "r retries the 200 items rejected with “404 Not Found”") {
		t.Fatalf("the highlight did not follow its cause:\n%s", v)
	}
	d.press("r")
	if got, want := d.causeCalls(), []string{longLoaderName + ": 404 Not Found"}; !slices.Equal(got, want) {
		t.Fatalf("RetryCause calls %q, want %q", got, want)
	}
}

// A cause retried leaves the list; the highlight stays on its row
// number, and the hint names the cause now there before r is pressed
// again.
func TestCauseRetriedLeavesTheList(t *testing.T) {
	d := start(t, withLongLoader(), 120, 40, Options{})
	d.press("enter", "down")
	if v := d.view(); !strings.Contains(v, "r retries the 64 items rejected with “503 Service Unavailable”") {
		t.Fatalf("hint does not name the highlighted cause:\n%s", v)
	}
	d.press("r")
	s := withLongLoader()
	s.State = warmup.StateRetrying
	l := &s.Loaders[0]
	l.Causes = slices.Delete(l.Causes, 1, 2)
	l.Rejected -= 64
	l.Retrying = 64
	l.Done = false
	d.eng.set(totals(s))
	d.send(tickMsg{})
	v := d.view()
	// The highlight stays on the cause retried, marked, rather than
	// slide onto the 404s a second r would retry (#24 round two).
	if !strings.Contains(v, "“503 Service Unavailable” is retrying in") || strings.Contains(v, "r retries the 11 items") {
		t.Fatalf("hint does not say the highlighted cause is retrying:\n%s", v)
	}
	d.press("r")
	if got, want := d.causeCalls(), []string{longLoaderName + ": 503 Service Unavailable"}; !slices.Equal(got, want) {
		t.Fatalf("RetryCause calls %q, want %q", got, want)
	}
}

// In a failure view r retries the highlighted cause: the final summary
// does not say it retries every rejected item.
func TestFailureViewSummaryDoesNotPromiseEveryRetry(t *testing.T) {
	d := start(t, doneWithFailures(), 120, 30, Options{})
	for _, key := range []string{"enter", "f"} {
		d.press(key)
		if v := d.view(); strings.Contains(v, "r retries them") || !strings.Contains(v, "done in") {
			t.Fatalf("after %s the summary promises r retries every rejected item:\n%s", key, v)
		}
		d.press("esc")
	}
}

// In a filtered grid the final summary's retry hint counts what r
// retries: the rejected items of the loaders shown.
func TestFilteredRetryHint(t *testing.T) {
	tests := []struct {
		name, typed, want string
		retried           int // what r then retries, 0 for nothing
	}{
		{"no filter", "", "✗ 34 rejected · r retries them", 34},
		{"two loaders", "pr", "r retries the 3 rejected of the 2 loaders shown", 3},
		{"one loader", "sess", "r retries the 30 rejected of the loader shown", 30},
		{"none rejected", "users", "nothing to retry in the loaders shown", 0},
		{"no match", "zzz", "nothing to retry in the loaders shown", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, doneWithFailures(), 120, 30, Options{})
			if tc.typed != "" {
				d.press("/")
				d.typeText(tc.typed)
				d.press("enter")
			}
			v := d.view()
			if !strings.Contains(v, tc.want) {
				t.Fatalf("status line lacks %q:\n%s", tc.want, v)
			}
			if tc.typed != "" && strings.Contains(v, "r retries them") {
				t.Fatalf("a filtered grid says r retries every rejected item:\n%s", v)
			}
			d.press("r")
			v = d.view()
			if tc.retried == 0 {
				if !strings.Contains(v, "nothing to retry") {
					t.Fatalf("r retried something:\n%s", v)
				}
				return
			}
			if want := fmt.Sprintf("retrying %d rejected items", tc.retried); !strings.Contains(v, want) {
				t.Fatalf("screen lacks %q after r:\n%s", want, v)
			}
		})
	}
}
