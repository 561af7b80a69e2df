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
	// minTileWidth is the narrowest a tile gets before the grid drops a
	// column. Two tiles fit side by side in 80 columns.
	minTileWidth = 38
	// tileFrame is the horizontal room taken by the border and padding.
	tileFrame = 4
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
	spinner  string
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

// SetSize sets the tile's outer size, border included.
func (t *tile) SetSize(w, h int) {
	t.width, t.height = w, h
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

// status returns the border style and the title marker: the state is
// told by the border type and by a word, colour only adds to it.
func (t tile) status() (lipgloss.Style, string) {
	st := t.ctx.Styles
	l := t.loader
	switch {
	case l.Retrying > 0:
		attempt := ""
		if l.RetryAttempt > 0 {
			attempt = fmt.Sprintf(" (attempt %d)", l.RetryAttempt)
		}
		return st.TileRunning, st.Retrying.Render(symRetrying + " retrying " + count(l.Retrying) + attempt)
	case l.Waiting:
		return st.TileRunning, st.Stopping.Render(symWaiting + " waiting for Redis")
	case !t.settled() && t.runState == warmup.StateStopping:
		return st.TileRunning, st.Stopping.Render(symStopping + " stopping")
	case !t.settled():
		return st.TileRunning, st.Running.Render(symRunning + " running")
	case l.Rejected > 0:
		return st.TileRejected, st.Rejected.Render(symRejected + " " + count(l.Rejected) + " rejected")
	case l.NotStarted != 0:
		return st.TileRejected, st.Stopping.Render(symUnstarted + " not all started")
	default:
		return st.TileOK, st.Fulfilled.Render(symFulfilled + " ok")
	}
}

// View renders the tile.
func (t tile) View() string {
	st := t.ctx.Styles
	l := t.loader
	iw := max(t.width-tileFrame, 1)
	border, marker := t.status()
	if t.selected {
		border = border.BorderForeground(st.TileSelected)
	}

	name := l.Name
	if t.selected {
		name = symSelected + " " + name
	}
	source := l.Source
	if source == "" {
		source = "–"
	}

	lines := [...]string{
		spread(st.TileName.Render(name), marker, iw),
		st.Muted.Render(fit(oneLine(source), iw)),
		t.progressLine(iw),
		t.countsLine(iw),
		t.rateLine(iw),
		t.reasonLine(iw),
	}
	return border.Width(t.width).Height(t.height).Render(strings.Join(lines[:], "\n"))
}

// tileSpark is the width of a tile's sparkline, the same in every tile
// so that they line up.
const tileSpark = 8

// rateLine shows the last minute's items/s as a sparkline, the rate, the
// latencies and, when it fits, the number of items in flight. Where room
// is short the sparkline stays and p50 goes.
func (t tile) rateLine(iw int) string {
	l := t.loader
	rateP95 := rate(l.Rate) + "/s  p95 " + latency(l.P95)
	s := rate(l.Rate) + "/s  p50 " + latency(l.P50) + "  p95 " + latency(l.P95)
	if len(t.history) == 0 || lipgloss.Width(rateP95)+1+tileSpark > iw {
		return fit(s, iw)
	}
	room := iw - tileSpark - 1
	if lipgloss.Width(s) > room {
		s = rateP95
	}
	if l.InFlight > 0 {
		if long := s + "  " + count(l.InFlight) + " in flight"; lipgloss.Width(long) <= room {
			s = long
		}
	}
	return t.ctx.Styles.Spark.Render(sparkline(t.history, tileSpark)) + " " + s
}

// progressLine is a bar with settled/total when the total is known, or a
// spinner and counts while a file is still streaming.
func (t tile) progressLine(iw int) string {
	l := t.loader
	settled := l.Settled()
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
	long := st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)+" fulfilled") + warmCount(st, l.Warm) + "  " +
		rej.Render(symRejected+" "+count(l.Rejected)+" rejected")
	if l.NotStarted != 0 {
		unstarted := "rest"
		if l.NotStarted > 0 {
			unstarted = count(l.NotStarted)
		}
		long += "  " + st.Stopping.Render(symUnstarted+" "+unstarted+" not started")
	}
	if lipgloss.Width(long) <= iw {
		return long
	}
	short := st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)) + warmCount(st, l.Warm) + "  " +
		rej.Render(symRejected+" "+count(l.Rejected))
	if lipgloss.Width(short) <= iw || l.Warm == 0 {
		return fit(short, iw)
	}
	return fit(st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled))+"  "+rej.Render(symRejected+" "+count(l.Rejected)), iw)
}

// warmCount is how many of the fulfilled items were already warm (their
// key there, left alone), when any were: " (1,204 warm)".
func warmCount(st Styles, n int64) string {
	if n == 0 {
		return ""
	}
	return st.Muted.Render(" (" + count(n) + " warm)")
}

// reasonLine is the latest rejection still standing: its cause in full,
// then as much of its detail as fits. A loader without rejections shows
// none, whatever it showed before a retry.
func (t tile) reasonLine(iw int) string {
	st := t.ctx.Styles
	l := t.loader
	if l.LastReason == "" || (l.Rejected == 0 && l.SourceError == "") {
		return st.Muted.Render(fit("no rejections", iw))
	}
	return st.Rejected.Render(symRejected+" ") + causeDetail(st, warmup.Rejection{Reason: l.LastReason, Cause: l.LastCause}, iw-2)
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
