// Package tui is cachewarm's terminal monitor: a header with the run's
// totals, a grid with one tile per loader, a failure view per loader, retry
// of the rejected items and a graceful stop.
//
// The monitor never receives one message per item: it reads the engine's
// Snapshot on a tick (about 15 times a second), so a frame costs the same
// for a thousand items as for a million.
package tui

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/cachewarm/cachewarm/warmup"
)

const (
	// frameRate is how many frames a second the monitor draws at most:
	// the snapshot's tick, and Bubble Tea's renderer (tea.WithFPS).
	frameRate = 15
	// tickInterval is how often the snapshot is read.
	tickInterval = time.Second / frameRate
	// flashTicks is how long a flash message stays: about 3 seconds.
	flashTicks = 45
	// statusHeight is the status line's height.
	statusHeight = 1
	// idlePoll is how often a settled run that Idle does not wait on (held
	// while Redis is down: the time it has been down moves) is redrawn.
	idlePoll = time.Second
)

// Options configure the monitor.
type Options struct {
	// ExitWhenDone quits by itself once every item has settled.
	ExitWhenDone bool
	// Input and Output replace the terminal; nil means stdin and stdout.
	Input  io.Reader
	Output io.Writer
	// Demo shows a DEMO badge in the header: the run writes to the
	// embedded Redis or fetches from the simulated origin. The engine
	// does not know; the caller that started them does.
	Demo bool

	// still keeps the spinner on its first frame (tests and goldens).
	still bool
}

// screen is what the body shows.
type screen int

const (
	screenGrid screen = iota
	screenFailures
)

// tickMsg asks for a new snapshot.
type tickMsg struct{}

// Model is the monitor's root model. It is the only one returning a
// tea.View; the components below it render strings.
type Model struct {
	eng  Engine
	opts Options
	ctx  *Context

	snap          warmup.Snapshot
	screen        screen
	showHelp      bool
	stopRequested bool
	// fromAll says the loader's failures were opened from all failures:
	// esc goes back there, one view at a time.
	fromAll  bool
	flash    string
	flashTTL int

	// ticking is true while snapshots are read on the tick; a finished,
	// quiet run is not redrawn (see watch). wantTick asks for the tick
	// again (a retry, a flash), wake tells a watcher it is no longer
	// needed.
	ticking  bool
	wantTick bool
	spinning bool
	wake     *atomic.Int64
	// stopWatch ends the watch's wait on the engine (see watch).
	stopWatch *watchStop
	// history is the throughput for the sparklines.
	history *throughput

	header   header
	grid     grid
	failures failureView
	help     helpView
}

// New returns the monitor's root model for an engine. Run runs it in a
// program; tests drive it directly.
func New(eng Engine, opts Options) Model {
	ctx := NewContext(80, 24)
	m := Model{
		eng:       eng,
		opts:      opts,
		ctx:       ctx,
		header:    newHeader(ctx, opts.Demo),
		grid:      newGrid(ctx),
		failures:  newFailureView(ctx),
		help:      newHelpView(ctx),
		ticking:   true,
		spinning:  !opts.still,
		wake:      &atomic.Int64{},
		stopWatch: &watchStop{},
		history:   &throughput{},
	}
	m.layout()
	return m
}

// Init asks for the background colour, takes the first snapshot and starts
// the spinner.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{
		tea.RequestBackgroundColor,
		func() tea.Msg { return tickMsg{} },
	}
	if !m.opts.still {
		cmds = append(cmds, m.grid.spinner.Tick)
	}
	return tea.Batch(cmds...)
}

// tick schedules the next snapshot.
func tick() tea.Cmd {
	return tea.Tick(tickInterval, func(time.Time) tea.Msg { return tickMsg{} })
}

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height = msg.Width, msg.Height
		m.layout()
	case tea.BackgroundColorMsg:
		m.ctx.SetDark(msg.IsDark())
		m.applyStyles()
		m.layout()
	case tickMsg:
		return m.onTick()
	case spinner.TickMsg:
		if !m.ticking {
			// Nothing moves: the spinner stops with the tick.
			m.spinning = false
			return m, nil
		}
		return m, m.grid.Update(msg)
	case tea.KeyPressMsg:
		next, cmd := m.onKey(msg)
		mm := next.(Model)
		return mm, tea.Batch(cmd, mm.resume())
	}
	return m, nil
}

// resume starts the tick again when a key asked for it (a retry, a
// flash message) while the run was quiet.
func (m *Model) resume() tea.Cmd {
	want := m.wantTick
	m.wantTick = false
	if !want || m.ticking {
		return nil
	}
	m.ticking = true
	m.wake.Add(1)
	m.stopWatch.stop()
	cmds := []tea.Cmd{tick()}
	if !m.opts.still && !m.spinning {
		m.spinning = true
		cmds = append(cmds, m.grid.spinner.Tick)
	}
	return tea.Batch(cmds...)
}

// quiet reports whether nothing on screen can change by itself: the run
// is done and no flash message is counting down.
func (m Model) quiet() bool {
	return m.snap.State == warmup.StateDone && m.flashTTL == 0
}

// watchStop ends the wait of the current watch.
type watchStop struct {
	mu     sync.Mutex
	cancel context.CancelFunc
}

// set makes cancel the current watch's, ending any earlier one.
func (w *watchStop) set(cancel context.CancelFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		w.cancel()
	}
	w.cancel = cancel
}

// stop ends the current watch's wait.
func (w *watchStop) stop() { w.set(nil) }

// watch waits, off the screen's loop, until the engine says something
// changed (a stop by a signal, a retry), then asks for a tick. It waits
// on the engine (Idle), not on a timer: a finished monitor left open
// does no work. It ends without a message once a key has started the
// tick again.
func (m Model) watch() tea.Cmd {
	gen := m.wake.Add(1)
	wake, eng := m.wake, m.eng
	ctx, cancel := context.WithCancel(context.Background())
	m.stopWatch.set(cancel)
	was := m.snap
	return func() tea.Msg {
		defer cancel()
		for {
			eng.Idle(ctx)
			if ctx.Err() != nil || wake.Load() != gen {
				return nil
			}
			s := eng.Snapshot()
			if s.State != was.State || s.Stopped != was.Stopped || s.Fulfilled != was.Fulfilled || s.Rejected != was.Rejected {
				return tickMsg{}
			}
			// Idle came back with nothing new to draw at once (a run
			// held while Redis is down): look again a little later,
			// and redraw the time Redis has been down, or that it is
			// back.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(idlePoll):
			}
			if s.RedisDown > 0 || was.RedisDown > 0 {
				return tickMsg{}
			}
		}
	}
}

// onTick reads the snapshot: the only way engine data enters the model.
func (m Model) onTick() (tea.Model, tea.Cmd) {
	m.snap = m.eng.Snapshot()
	m.history.observe(m.snap)
	m.header.SetSnapshot(m.snap, m.history.run())
	m.grid.SetLoaders(m.snap.Loaders, m.snap.State, m.history)
	if m.screen == screenFailures && m.failures.All() {
		m.failures.SetLoaders(m.snap.Loaders)
	} else if m.screen == screenFailures {
		for _, l := range m.snap.Loaders {
			if l.Name != m.failures.Name() {
				continue
			}
			m.failures.SetLoader(l)
			m.refreshRejections()
			break
		}
	}
	if m.flashTTL > 0 {
		m.flashTTL--
		if m.flashTTL == 0 {
			m.flash = ""
		}
	}
	if m.snap.State == warmup.StateDone && (m.opts.ExitWhenDone || m.snap.Stopped) {
		// Done after a stop (q, ctrl+c or a signal): the run is over.
		return m, tea.Quit
	}
	if m.quiet() {
		m.ticking = false
		return m, m.watch()
	}
	m.ticking = true
	return m, tick()
}

func (m Model) onKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.ctx.Keys
	if m.screen == screenFailures && m.failures.Searching() {
		if key.Matches(msg, k.Interrupt) {
			return m.quit()
		}
		cmd := m.failures.UpdateSearch(msg)
		m.layout()
		return m, cmd
	}
	if m.screen == screenGrid && m.grid.Filtering() {
		if key.Matches(msg, k.Interrupt) {
			return m.quit()
		}
		cmd := m.grid.Update(msg)
		m.layout()
		return m, cmd
	}

	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
		m.layout()
		return m, nil
	case key.Matches(msg, k.Retry):
		m.retry()
		return m, nil
	case m.showHelp && key.Matches(msg, k.Back):
		m.showHelp = false
		m.layout()
		return m, nil
	}

	var cmd tea.Cmd
	switch m.screen {
	case screenGrid:
		switch {
		case key.Matches(msg, k.Open):
			if l, ok := m.grid.Selected(); ok {
				m.openFailures(l)
			}
		case key.Matches(msg, k.AllFailures):
			m.screen = screenFailures
			m.fromAll = false
			m.failures.OpenAll(m.snap.Loaders)
		case key.Matches(msg, k.Resume):
			m.resumeReading()
		default:
			cmd = m.grid.Update(msg)
		}
	case screenFailures:
		switch {
		case key.Matches(msg, k.Back):
			m.back()
		case m.failures.All() && key.Matches(msg, k.RetryEverywhere):
			m.retryEverywhere()
		case !m.failures.All() && m.failures.Mode() == modeItems && key.Matches(msg, k.Open):
			m.failures.ShowDetail(true)
		case key.Matches(msg, k.Copy):
			cmd = m.copySelected()
		case key.Matches(msg, k.Filter):
			cmd = m.failures.StartSearch()
		case key.Matches(msg, k.Sort):
			m.failures.CycleSort()
		case m.failures.All() && key.Matches(msg, k.Open):
			if r, ok := m.failures.SelectedCause(); ok {
				for _, l := range m.snap.Loaders {
					if l.Name == r.loader {
						m.openFailures(l)
						m.fromAll = true
					}
				}
			}
		case key.Matches(msg, k.Switch):
			m.failures.Toggle()
			m.refreshRejections()
		default:
			cmd = m.failures.Update(msg)
		}
	}
	m.layout()
	return m, cmd
}

// back goes back one view, as k9s and lazygit do: a loader's items to
// its causes, a loader's causes to all failures when opened from there,
// else to the grid.
func (m *Model) back() {
	switch {
	case m.failures.Detailed():
		m.failures.ShowDetail(false)
	case !m.failures.All() && m.failures.Mode() == modeItems:
		m.failures.Toggle()
	case !m.failures.All() && m.fromAll:
		m.fromAll = false
		m.failures.OpenAll(m.snap.Loaders)
	default:
		m.screen = screenGrid
	}
}

// openFailures shows a loader's causes; its items are fetched on the
// next tick, which a quiet run must be given.
func (m *Model) openFailures(l warmup.LoaderSnapshot) {
	m.screen = screenFailures
	m.fromAll = false
	m.failures.Open(l)
	m.wantTick = true
}

// working reports whether items are still being taken.
func (m Model) working() bool {
	switch m.snap.State {
	case "", warmup.StateRunning, warmup.StateRetrying:
		return true
	}
	return false
}

// quit stops the run on the first press while it works, and quits on the
// next one (or at once when nothing runs).
func (m Model) quit() (tea.Model, tea.Cmd) {
	if m.working() && !m.stopRequested {
		m.eng.Stop()
		m.stopRequested = true
		m.setFlash(symStopping + " stopping: in-flight items settle, then cachewarm quits · q again quits now")
		return m, nil
	}
	return m, tea.Quit
}

// retry re-runs rejected items: from the grid, those of the loaders it
// shows (every loader without a filter); from a cause summary, those with
// the highlighted cause; from an item list, the open loader's.
func (m *Model) retry() {
	var n int
	what := " rejected items"
	switch {
	case m.screen == screenFailures && (m.failures.All() || m.failures.Mode() == modeCauses):
		r, ok := m.failures.SelectedCause()
		if !ok {
			m.setFlash("nothing to retry: no rejected items")
			return
		}
		if r.Stage == warmup.StageSource {
			m.setFlash("not retried: items rejected at the source come back the same; fix the file")
			return
		}
		if r.retrying {
			m.setFlash("already retrying: the items rejected with “" + oneLine(r.Cause) + "” in " + r.loader)
			return
		}
		n = m.eng.RetryCause(r.Cause, r.loader)
		what = " items rejected with “" + oneLine(r.Cause) + "”"
	case m.screen == screenFailures && m.failures.Detailed():
		r, ok := m.failures.SelectedRejection()
		if !ok {
			m.setFlash("nothing to retry")
			return
		}
		if r.Stage == warmup.StageSource {
			m.setFlash("not retried: items rejected at the source come back the same; fix the file")
			return
		}
		what := oneLine(r.Key)
		if u := urlOf(r); u != "" {
			what = u
		}
		if m.eng.RetryItem(m.failures.Name(), r) == 0 {
			m.setFlash("nothing to retry: " + what + " is no longer rejected")
			return
		}
		// The item leaves the list: the detail goes back to it rather
		// than show whichever item takes its row.
		m.failures.ShowDetail(false)
		m.failures.MarkStale()
		m.stopRequested = false
		m.setFlash(symRetrying + " retrying " + what)
		return
	case m.screen == screenFailures:
		l := m.failures.loader
		if m.failures.query() != "" {
			m.setFlash("not retried: the search hides some of " + l.Name + "'s rejected items, and r retries them all; esc clears it")
			return
		}
		if l.Rejected == 0 {
			m.setFlash("nothing to retry: " + l.Name + " has no rejected items")
			return
		}
		n = m.eng.Retry(l.Name)
	case m.grid.Filtered():
		shown := m.grid.Shown()
		var names []string
		for _, l := range shown {
			names = append(names, l.Name)
		}
		if rejectedOf(shown) == 0 {
			m.setFlash("nothing to retry: no loader shown has rejected items")
			return
		}
		n = m.eng.Retry(names...)
		what += " of " + plural(len(names), "loader") + " shown"
	default:
		if m.snap.Rejected == 0 {
			m.setFlash("nothing to retry: no item was rejected")
			return
		}
		n = m.eng.Retry()
	}
	if n == 0 {
		m.setFlash("nothing to retry")
		return
	}
	m.failures.MarkStale()
	m.stopRequested = false
	m.setFlash(symRetrying + " retrying " + count(int64(n)) + what)
}

// held reports whether Redis stopped the run and the monitor holds it:
// settled, not over, its sources' rest unread until R.
func held(s warmup.Snapshot) bool {
	return s.StopReason != "" && !s.Stopped
}

// unread reports whether a loader's source was not read to its end: the
// run-wide count leaves out a file's rest, which is not counted (-1).
func unread(s warmup.Snapshot) bool {
	for _, l := range s.Loaders {
		if l.NotStarted != 0 {
			return true
		}
	}
	return false
}

// resumeReading reads on the sources Redis stopped, from where each
// stopped.
func (m *Model) resumeReading() {
	if !held(m.snap) {
		m.setFlash("nothing to resume: R reads on the sources after Redis stopped the run")
		return
	}
	n := m.eng.Resume()
	if n == 0 {
		m.setFlash("nothing to resume: every source was read to its end")
		return
	}
	m.setFlash(symRunning + " reading on: " + plural(n, "loader") + " from where they stopped")
}

// copySelected puts the highlighted item's URL on the clipboard, or its
// key when it was not fetched, with OSC 52: it works over ssh and in
// tmux, where the monitor's host has no clipboard of its own.
func (m *Model) copySelected() tea.Cmd {
	r, ok := m.failures.SelectedRejection()
	if !ok {
		m.setFlash("nothing to copy: y copies an item's URL or key, in the item list")
		return nil
	}
	what, text := "URL", urlOf(r)
	if text == "" {
		what, text = "key", r.Key
	}
	m.setFlash("copied the " + what + " " + oneLine(text))
	return tea.SetClipboard(text)
}

// retryEverywhere retries the highlighted cause of all failures in
// every loader that has it, and says which.
func (m *Model) retryEverywhere() {
	r, ok := m.failures.SelectedCause()
	switch {
	case !ok:
		m.setFlash("nothing to retry: no rejected items")
		return
	case r.Stage == warmup.StageSource:
		m.setFlash("not retried: items rejected at the source come back the same; fix the file")
		return
	case r.retrying:
		m.setFlash("already retrying: the items rejected with “" + oneLine(r.Cause) + "” in " + r.loader)
		return
	}
	_, loaders := m.failures.causeEverywhere(r.Cause)
	n := m.eng.RetryCause(r.Cause)
	if n == 0 {
		m.setFlash("nothing to retry")
		return
	}
	m.failures.MarkStale()
	m.stopRequested = false
	m.setFlash(symRetrying + " retrying " + count(int64(n)) + " items rejected with “" + oneLine(r.Cause) + "” in " + strings.Join(loaders, ", "))
}

func (m *Model) setFlash(s string) {
	m.flash = s
	m.flashTTL = flashTicks
	m.wantTick = true
}

// activeKeys are the key bindings of what has the focus.
func (m Model) activeKeys() help.KeyMap {
	if m.screen == screenFailures {
		if m.failures.Searching() {
			return filterKeys{m.ctx.Keys}
		}
		return m.failures.KeyMap()
	}
	return m.grid.KeyMap()
}

// bodyHeight is what is left between the header and the footer.
func (m Model) bodyHeight() int {
	return max(m.ctx.Height-headerHeight-statusHeight-m.help.Height(), 1)
}

// layout recomputes every component's size from the window's.
func (m *Model) layout() {
	w := m.ctx.Width
	m.help.SetKeyMap(m.activeKeys())
	m.help.SetShowAll(m.showHelp)
	m.help.SetSize(w, 0)
	m.help.SetSize(w, m.help.Height())
	m.header.SetSize(w, headerHeight)
	bh := m.bodyHeight()
	m.grid.SetSize(w, bh)
	m.failures.SetSize(w, bh)
}

// applyStyles pushes the context's styles into the bubbles components.
func (m *Model) applyStyles() {
	m.grid.applyStyles()
	m.failures.applyStyles()
	m.help.applyStyles()
}

// status is the line above the help: a flash message, the stop notice or
// the final summary.
func (m Model) status() string {
	st := m.ctx.Styles
	s := m.snap
	switch {
	case m.flash != "":
		return st.Flash.Render(m.flash)
	case m.stopRequested && s.State != warmup.StateDone:
		return st.Stopping.Render(symStopping + " stopping: in-flight items settle, then cachewarm quits · q again quits now")
	case held(s) && s.State == warmup.StateDone:
		// Redis stopped the run and the monitor holds it: it is not
		// done while items are not started, and says so first.
		line := st.Stopping.Render(symStopping + " stopped after " + elapsed(s.Elapsed))
		if s.NotStarted > 0 {
			line += " · " + st.Stopping.Render(symUnstarted+" "+count(s.NotStarted)+" not started")
		} else if unread(s) {
			line += " · " + st.Stopping.Render(symUnstarted+" rest not started")
		}
		if unread(s) {
			line += st.Muted.Render(" · R reads on the rest")
		}
		line += " · " + st.Fulfilled.Render(symFulfilled+" "+count(s.Fulfilled)+" fulfilled") + " · " +
			st.Rejected.Render(symRejected+" "+count(s.Rejected)+" rejected")
		if hint := m.retryHint(); s.Rejected > 0 && hint != "" {
			line += st.Muted.Render(" · " + hint)
		}
		return line + st.Muted.Render(" · q quits")
	case s.State == warmup.StateDone:
		line := st.Summary.Render("done in "+elapsed(s.Elapsed)) + " · " +
			st.Fulfilled.Render(symFulfilled+" "+count(s.Fulfilled)+" fulfilled") + warmCount(st, s.Warm) + " · " +
			st.Rejected.Render(symRejected+" "+count(s.Rejected)+" rejected")
		if hint := m.retryHint(); s.Rejected > 0 && hint != "" {
			line += st.Muted.Render(" · " + hint)
		}
		return line + st.Muted.Render(" · q quits")
	}
	return ""
}

// retryHint says what r retries in the final summary: every rejected
// item, or in a filtered grid those of the loaders shown, as retry does.
// Elsewhere r retries the highlighted cause, which the view's own hint
// names: the summary says nothing that could contradict it.
func (m Model) retryHint() string {
	if m.screen != screenGrid {
		return ""
	}
	if !m.grid.Filtered() {
		return "r retries them"
	}
	shown := m.grid.Shown()
	rejected := rejectedOf(shown)
	switch {
	case rejected == 0:
		return "nothing to retry in the loaders shown"
	case len(shown) == 1:
		return "r retries the " + count(rejected) + " rejected of the loader shown"
	}
	return "r retries the " + count(rejected) + " rejected of the " + plural(len(shown), "loader") + " shown"
}

// render lays the screen out: header, body, status line, help.
func (m Model) render() string {
	w, h := m.ctx.Width, m.ctx.Height
	var body string
	if m.screen == screenFailures {
		body = m.failures.View()
	} else {
		body = m.grid.View()
	}
	lines := make([]string, 0, h)
	lines = append(lines, strings.Split(m.header.View(), "\n")...)
	bodyLines := strings.Split(body, "\n")
	bh := m.bodyHeight()
	for i := range bh {
		if i < len(bodyLines) {
			lines = append(lines, bodyLines[i])
		} else {
			lines = append(lines, "")
		}
	}
	lines = append(lines, fit(m.status(), w))
	lines = append(lines, strings.Split(m.help.View(), "\n")...)
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lines[i] = fit(l, w)
	}
	return strings.Join(lines, "\n")
}

// View implements tea.Model. The monitor runs in the alternate screen and
// leaves the mouse alone so that text can be selected.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	title := "cachewarm"
	if m.snap.State != "" {
		title += ": " + string(m.snap.State)
	}
	v.WindowTitle = title
	return v
}

// refreshRejections reads the failure view's loader's rejections again
// when its counts moved since they were read.
func (m *Model) refreshRejections() {
	if m.failures.Stale() {
		m.failures.SetRejections(m.eng.Rejections(m.failures.Name()))
	}
}
