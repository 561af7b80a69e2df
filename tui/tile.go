package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/progress"
	"charm.land/lipgloss/v2"
	"github.com/cachewarm/cachewarm/warmup"
)

const (
	// tileHeight is a tile's height, border included: six lines of
	// content and the border.
	tileHeight = 8
	// compactTileHeight is a compact tile's: name, progress, counts with
	// the items in flight, and the latest cause. Three rows of them fit
	// the body of an 80x24 terminal, so six loaders do.
	compactTileHeight = 6
	// minTileWidth is the narrowest a tile gets before the grid drops a
	// column. Two tiles fit side by side in 80 columns.
	minTileWidth = 38
	// minCompactTileWidth is the narrowest a compact tile gets when the
	// rows of wider ones do not all fit: two side by side in 60 columns.
	minCompactTileWidth = 28
	// minimalTileHeight is a compact tile with one line of cause: what
	// fits six loaders in three rows of a 60x20 terminal.
	minimalTileHeight = 5
	// tileFrame is the horizontal room taken by the border and padding.
	tileFrame = 4
	// maxTileReasonLines is the most lines a tile gives a cause, growing
	// down when the grid has rows to spare.
	maxTileReasonLines = 4
)

// tile renders one loader. The grid reuses a single tile for every loader,
// so a frame costs O(loaders) and nothing per item.
type tile struct {
	ctx           *Context
	width, height int
	bar           progress.Model

	loader   warmup.LoaderSnapshot
	runState warmup.State
	selected bool
	// compact drops the source and rate lines (see compactTileHeight).
	compact bool
	spinner string
	// history is the loader's items/s over the last minute.
	history []float64
}

func newTile(ctx *Context) tile {
	t := tile{
		ctx:    ctx,
		width:  minTileWidth,
		height: tileHeight,
		bar: progress.New(
			progress.WithFillCharacters(progress.DefaultFullCharFullBlock, progress.DefaultEmptyCharBlock),
			progress.WithoutPercentage(),
		),
	}
	t.applyStyles()
	return t
}

// applyStyles copies the context's styles into the progress bar.
func (t *tile) applyStyles() {
	t.bar.FullColor = t.ctx.Styles.BarFull
	t.bar.EmptyColor = t.ctx.Styles.BarEmpty
}

// SetSize sets the tile's outer size, border included. A height below
// tileHeight gives the compact form.
func (t *tile) SetSize(w, h int) {
	t.width, t.height = w, h
	t.compact = h < tileHeight
}

// set points the tile at a loader.
func (t *tile) set(l warmup.LoaderSnapshot, runState warmup.State, selected bool, spinner string, history []float64) {
	t.loader, t.runState, t.selected, t.spinner, t.history = l, runState, selected, spinner, history
}

// settled reports whether the tile's loader is finished, either by itself
// or because the whole run is.
func (t tile) settled() bool {
	return t.loader.Done || t.runState == warmup.StateDone
}

// status returns the border style and the title markers, the longest
// first: the state is told by the border type and by a word, colour only
// adds to it. The title takes the longest marker that leaves the name
// whole.
func (t tile) status() (lipgloss.Style, []string) {
	st := t.ctx.Styles
	l := t.loader
	switch {
	case l.Retrying > 0:
		n := count(l.Retrying)
		var markers []string
		if l.RetryingCause == warmup.CauseLost {
			// A restart's lost keys written again: not a retry of
			// something that failed.
			return st.TileRunning, renderAll(st.Retrying, []string{symRetrying + " rewriting " + n + " lost", symRetrying + " rewriting " + n, symRetrying + " " + n})
		}
		if l.RetryAttempt > 0 {
			markers = append(markers, fmt.Sprintf("%s retrying %s (attempt %d)", symRetrying, n, l.RetryAttempt))
		}
		markers = append(markers, symRetrying+" retrying "+n, symRetrying+" "+n)
		return st.TileRunning, renderAll(st.Retrying, markers)
	case l.Waiting:
		return st.TileRunning, renderAll(st.Stopping, []string{symWaiting + " waiting for Redis", symWaiting + " waiting"})
	case !t.settled() && t.runState == warmup.StateStopping:
		markers := []string{symStopping + " stopping"}
		if l.InFlight > 0 {
			// Stopped, yet not idle: say what still drains.
			markers = append([]string{symStopping + " stopping · " + count(l.InFlight) + " in flight"}, markers...)
		}
		return st.TileRunning, renderAll(st.Stopping, markers)
	case !t.settled():
		return st.TileRunning, renderAll(st.Running, []string{symRunning + " running"})
	case l.Rejected > 0:
		n := count(l.Rejected)
		return st.TileRejected, renderAll(st.Rejected, []string{symRejected + " " + n + " rejected", symRejected + " " + n})
	case l.NotStarted != 0:
		return st.TileRejected, renderAll(st.Stopping, []string{symUnstarted + " not all started", symUnstarted + " not started"})
	default:
		return st.TileOK, renderAll(st.Fulfilled, []string{symFulfilled + " ok"})
	}
}

// renderAll renders each string with the style.
func renderAll(style lipgloss.Style, ss []string) []string {
	for i, s := range ss {
		ss[i] = style.Render(s)
	}
	return ss
}

// titleLine is the name and the longest marker that leaves the name
// whole; only when even the shortest does not is the name cut.
func titleLine(name string, markers []string, iw int) string {
	for _, m := range markers {
		if lipgloss.Width(name)+1+lipgloss.Width(m) <= iw {
			return spread(name, m, iw)
		}
	}
	return spread(name, markers[len(markers)-1], iw)
}

// View renders the tile: in full, or compact (name, progress, counts
// with the items in flight, cause) when the grid is short of rows.
func (t tile) View() string {
	st := t.ctx.Styles
	l := t.loader
	iw := max(t.width-tileFrame, 1)
	border, markers := t.status()
	if t.selected {
		border = border.BorderForeground(st.TileSelected)
	}

	name := l.Name
	if t.selected {
		name = symSelected + " " + name
	}
	title := titleLine(st.TileName.Render(name), markers, iw)

	var lines []string
	if t.compact && t.height < compactTileHeight {
		// Name, numbers and the cause on one line: the failure view
		// has it whole.
		lines = []string{title, t.numbersLine(iw), t.reasonLines(iw, 1)[0]}
	} else if t.compact {
		// A cause too long for one line takes the bar's line: the
		// numbers share one line and the cause is read whole.
		if reason := t.reasonLines(iw, 3); len(reason) > 2 && t.settled() &&
			lipgloss.Width(name)+2+lipgloss.Width(t.numbersLine(iw)) <= iw {
			// A cause that needs three lines is read whole: a settled
			// loader's numbers share the name's line (its border still
			// tells its state) rather than cut the cause.
			lines = append([]string{spread(st.TileName.Render(name), t.numbersLine(iw), iw)}, reason...)
		} else if reason := t.reasonLines(iw, 2); len(reason) > 1 {
			lines = append([]string{title, t.numbersLine(iw)}, reason...)
		} else {
			lines = []string{title, t.progressLine(iw), t.activityLine(iw), reason[0]}
		}
	} else {
		// A cause too long for one line takes the source's line: the
		// cause is what the reader came for.
		reason := t.reasonLines(iw, 2+max(t.height-tileHeight, 0))
		lines = []string{title}
		if 5+len(reason) <= t.height-2 {
			source := l.Source
			if source == "" {
				source = "–"
			}
			if l.TTL != "" {
				source += " · ttl " + l.TTL
			}
			lines = append(lines, st.Muted.Render(fit(oneLine(source), iw)))
		}
		lines = append(lines, t.progressLine(iw), t.countsLine(iw), t.rateLine(iw))
		lines = append(lines, reason...)
	}
	return border.Width(t.width).Height(t.height).Render(strings.Join(lines, "\n"))
}

// inFlight says how many items are in flight, how old the oldest is and,
// for a loader whose concurrency adapts, its origin's limit now ("6 in
// flight, oldest 7s · limit 37/200"), or "" when none is: a hung origin
// shows as items growing old, never as an idle tile.
func inFlight(l warmup.LoaderSnapshot) string {
	if l.InFlight <= 0 && l.Queued <= 0 {
		return ""
	}
	var parts []string
	if l.InFlight > 0 {
		s := count(l.InFlight) + " in flight"
		if l.OldestInFlight > 0 {
			s += ", oldest " + elapsed(l.OldestInFlight)
		}
		parts = append(parts, s)
	}
	if l.Queued > 0 {
		// Waiting for the loader's pace is not work under way.
		parts = append(parts, count(l.Queued)+" waiting to start")
	}
	s := strings.Join(parts, " · ")
	if l.LimitMax > 0 {
		s += fmt.Sprintf(" · limit %d/%d", l.Limit, l.LimitMax)
	}
	return s
}

// tileSpark is the width of a tile's sparkline, the same in every tile
// so that they line up.
const tileSpark = 8

// rateLine shows the items in flight, the rate, the last minute's
// items/s as a sparkline and the latencies, in that order of priority:
// where room is short p50 goes first, then p95, then the sparkline; the
// items in flight always stay.
func (t tile) rateLine(iw int) string {
	l := t.loader
	spark := ""
	if len(t.history) > 0 {
		spark = t.ctx.Styles.Spark.Render(sparkline(t.history, tileSpark)) + " "
	}
	r := rate(l.Rate) + "/s"
	p50, p95 := "  p50 "+latency(l.P50), "  p95 "+latency(l.P95)
	fl := inFlight(l)
	if fl != "" {
		fl = "  " + t.ctx.Styles.Running.Render(fl)
	}
	candidates := []string{
		spark + r + p50 + p95 + fl,
		spark + r + p95 + fl,
		spark + r + fl,
		r + fl,
	}
	for _, c := range candidates {
		if lipgloss.Width(c) <= iw {
			return c
		}
	}
	return fit(strings.TrimPrefix(fl, "  "), iw)
}

// activityLine is the compact tile's counts and items in flight.
func (t tile) activityLine(iw int) string {
	st := t.ctx.Styles
	l := t.loader
	rej := st.Muted
	if l.Rejected > 0 {
		rej = st.Rejected
	}
	counts := st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)) + "  " + rej.Render(symRejected+" "+count(l.Rejected))
	fl := inFlight(l)
	if fl == "" {
		ns := unstarted(st, l)
		withBefore := st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)) + beforeCount(st, l.FulfilledBefore) + "  " + rej.Render(symRejected+" "+count(l.Rejected)) + ns
		for _, c := range []string{withBefore, counts + ns, rej.Render(symRejected+" "+count(l.Rejected)) + ns} {
			if lipgloss.Width(c) <= iw {
				return c
			}
		}
		return fit(counts, iw)
	}
	// The items in flight stay whole; fulfilled goes first (the progress
	// line's settled count holds it), then rejected.
	fl = st.Running.Render(fl)
	for _, c := range []string{counts + "  " + fl, rej.Render(symRejected+" "+count(l.Rejected)) + "  " + fl} {
		if lipgloss.Width(c) <= iw {
			return c
		}
	}
	return fit(fl, iw)
}

// numbersLine is a compact tile's progress, counts and items in flight
// on one line, without the bar: what is dropped first where room is
// short is the fulfilled count, then the percentage; the items in
// flight stay.
func (t tile) numbersLine(iw int) string {
	st := t.ctx.Styles
	l := t.loader
	settled := l.Settled() + l.Retrying
	of := count(settled) + " read"
	pct := ""
	if l.Total >= 0 {
		settled = min(settled, l.Total)
		of = count(settled) + "/" + count(l.Total)
		if l.Total > 0 {
			pct = fmt.Sprintf(" %d%%", settled*100/l.Total)
		}
	}
	rej := st.Muted
	if l.Rejected > 0 {
		rej = st.Rejected
	}
	ful := "  " + st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled))
	r := "  " + rej.Render(symRejected+" "+count(l.Rejected))
	fl := inFlight(l)
	if fl != "" {
		fl = "  " + st.Running.Render(fl)
	}
	ns := unstarted(st, l)
	for _, c := range []string{of + pct + ful + r + fl + ns, of + pct + r + fl + ns, of + r + fl + ns, r + fl + ns, fl + ns} {
		if lipgloss.Width(c) <= iw {
			return strings.TrimPrefix(c, "  ")
		}
	}
	return fit(strings.TrimPrefix(fl+ns, "  "), iw)
}

// progressLine is a bar with settled/total when the total is known, or a
// spinner and counts while a file is still streaming.
func (t tile) progressLine(iw int) string {
	l := t.loader
	// Items a retry took back count as done once already: the bar never
	// runs backwards, and the title says how many are retrying.
	settled := l.Settled() + l.Retrying
	if l.Total >= 0 {
		settled = min(settled, l.Total)
	}
	if l.Total < 0 {
		spin := t.spinner
		if spin == "" || t.settled() {
			spin = "…"
		}
		long := spin + " " + count(settled) + " settled of " + count(l.Read) + " read (streaming)"
		if lipgloss.Width(long) <= iw {
			return long
		}
		return fit(spin+" "+count(settled)+" of "+count(l.Read)+" read", iw)
	}
	pct := 0.0
	switch {
	case l.Total > 0:
		pct = min(float64(settled)/float64(l.Total), 1)
	case t.settled():
		pct = 1
	}
	label := fmt.Sprintf("%s/%s %3d%%", count(settled), count(l.Total), int(pct*100))
	barWidth := iw - lipgloss.Width(label) - 1
	if barWidth < 4 {
		return fit(label, iw)
	}
	t.bar.SetWidth(barWidth)
	return t.bar.ViewAs(pct) + " " + label
}

// countsLine shows fulfilled and rejected, each with symbol and word, or
// with the symbol alone when the words do not fit.
func (t tile) countsLine(iw int) string {
	st := t.ctx.Styles
	l := t.loader
	rej := st.Muted
	if l.Rejected > 0 {
		rej = st.Rejected
	}
	// The items not started stay on every width: a stopped loader
	// whose rest was never read must not look finished. The words go
	// first, then the warm and before counts.
	ns := unstarted(st, l)
	long := st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)+" fulfilled") + warmCount(st, l.Warm) + beforeCount(st, l.FulfilledBefore) + "  " +
		rej.Render(symRejected+" "+count(l.Rejected)+" rejected") + ns
	if lipgloss.Width(long) <= iw {
		return long
	}
	bare := st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)) + "  " + rej.Render(symRejected+" "+count(l.Rejected))
	short := st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)) + warmCount(st, l.Warm) + "  " +
		rej.Render(symRejected+" "+count(l.Rejected)) + ns
	if b := beforeCount(st, l.FulfilledBefore); b != "" {
		// A retry's tile says what the chain fulfilled before, before
		// the warm count does.
		withBefore := st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)) + b + "  " + rej.Render(symRejected+" "+count(l.Rejected)) + ns
		if lipgloss.Width(withBefore) <= iw {
			return withBefore
		}
	}
	for _, c := range []string{short, bare + ns, rej.Render(symRejected+" "+count(l.Rejected)) + ns} {
		if lipgloss.Width(c) <= iw {
			return c
		}
	}
	if ns != "" {
		return fit(strings.TrimPrefix(ns, "  "), iw)
	}
	return fit(bare, iw)
}

// unstarted is "  ○ 390 not started" (or "  ○ rest not started" for a
// file whose rest is not counted) while the loader has items not
// started, "" otherwise.
func unstarted(st Styles, l warmup.LoaderSnapshot) string {
	if l.NotStarted == 0 {
		return ""
	}
	n := "rest"
	if l.NotStarted > 0 {
		n = count(l.NotStarted)
	}
	return "  " + st.Stopping.Render(symUnstarted+" "+n+" not started")
}

// beforeCount is how many of the loader's items the earlier runs of a
// --retry-from chain fulfilled, when any did: " + 6,458 before". A retry
// counts only what it fulfils; without this its tiles read as if
// nothing had been warmed.
func beforeCount(st Styles, n int64) string {
	if n == 0 {
		return ""
	}
	return st.Muted.Render(" + " + count(n) + " before")
}

// warmCount is how many of the fulfilled items were already warm (their
// key there, left alone), when any were: " (1,204 warm)".
func warmCount(st Styles, n int64) string {
	if n == 0 {
		return ""
	}
	return st.Muted.Render(" (" + count(n) + " warm)")
}

// reasonLines are the latest rejection still standing, on at most n
// lines: its cause whole (wrapped) when n lines hold it, then as much of
// its detail as fits. A loader without rejections shows none, whatever
// it showed before a retry.
func (t tile) reasonLines(iw, n int) []string {
	st := t.ctx.Styles
	l := t.loader
	if l.LastReason == "" || (l.Rejected == 0 && l.SourceError == "") {
		return []string{st.Muted.Render(fit("no rejections", iw))}
	}
	r := latestReal(l)
	lead := st.Rejected.Render(symRejected + " ")
	w := iw - 2
	cause := oneLine(r.Cause)
	if cause == "" || lipgloss.Width(cause) <= w || n < 2 {
		return []string{lead + causeDetail(st, r, w)}
	}
	wrapped := wrapCause(cause, w)
	if len(wrapped) > n {
		wrapped = wrapped[:n]
		wrapped[n-1] = fit(wrapped[n-1]+" …", w)
	}
	out := make([]string, len(wrapped))
	for i, line := range wrapped {
		out[i] = "  " + st.Bold.Render(line)
	}
	out[0] = lead + st.Bold.Render(wrapped[0])
	last := len(out) - 1
	if d := r.Detail(); d != "" && lipgloss.Width(wrapped[last])+3+4 <= w {
		out[last] = "  " + st.Bold.Render(wrapped[last]) + st.Muted.Render(fit(" · "+oneLine(d), w-lipgloss.Width(wrapped[last])))
	}
	return out
}

// wrapCause wraps a cause to lines of w cells, breaking at spaces and
// at the separators of paths and addresses.
func wrapCause(cause string, w int) []string {
	if cause == "" {
		return nil
	}
	return strings.Split(lipgloss.Wrap(oneLine(cause), max(w, 1), " /-:"), "\n")
}

// latestReal is the rejection a tile shows: the latest one, unless it
// was interrupted by a stop, which every in-flight item then is; the
// most frequent cause that is not an interruption tells what went wrong.
func latestReal(l warmup.LoaderSnapshot) warmup.Rejection {
	latest := warmup.Rejection{Reason: l.LastReason, Cause: l.LastCause}
	if !isInterruption(l, l.LastCause) {
		return latest
	}
	for _, c := range l.Causes {
		if c.Stage != warmup.StageInterrupted {
			r := warmup.Rejection{Reason: c.Cause, Cause: c.Cause, Stage: c.Stage}
			if c.Example != "" {
				r.Reason = c.Example + ": " + c.Cause
			}
			return r
		}
	}
	// Every rejection so far is a stop's: the latest one's failed
	// attempt, when it had one, is what was going wrong.
	if r, ok := lastAttempt(l.LastReason); ok {
		return r
	}
	return latest
}

// interruptedPrefix starts the reason of an item a stop interrupted
// after a failed attempt; the attempt's own reason follows.
const interruptedPrefix = "interrupted after a failed attempt: "

// lastAttempt is the failed attempt an interrupted item's reason keeps
// ("interrupted after a failed attempt: fetch GET http://o/p/3: 503
// Service Unavailable" is the 503 of GET /p/3), false when it has none.
func lastAttempt(reason string) (warmup.Rejection, bool) {
	rest, ok := strings.CutPrefix(reason, interruptedPrefix)
	if !ok {
		return warmup.Rejection{}, false
	}
	r := warmup.Rejection{Reason: rest, Cause: rest}
	for _, p := range []struct {
		prefix string
		stage  warmup.Stage
	}{{"fetch ", warmup.StageFetch}, {"redis ", warmup.StageRedis}} {
		if !strings.HasPrefix(rest, p.prefix) {
			continue
		}
		if _, c, ok := strings.Cut(rest, ": "); ok {
			r.Cause, r.Stage = c, p.stage
		}
	}
	return r, true
}

// isInterruption reports whether cause is the loader's cause of items
// interrupted by a stop.
func isInterruption(l warmup.LoaderSnapshot, cause string) bool {
	for _, c := range l.Causes {
		if c.Cause == cause {
			return c.Stage == warmup.StageInterrupted
		}
	}
	return false
}

// causeDetail is a rejection on one line of w cells: the cause first and
// whole when it fits, the detail after it, cut.
func causeDetail(st Styles, r warmup.Rejection, w int) string {
	cause := oneLine(r.Cause)
	if cause == "" {
		return fit(oneLine(r.Reason), w)
	}
	line := st.Bold.Render(cause)
	if d := r.Detail(); d != "" && lipgloss.Width(cause)+3 < w {
		line += st.Muted.Render(" · " + oneLine(d))
	}
	return fit(line, w)
}
