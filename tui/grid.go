package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/cachewarm/cachewarm/warmup"
)

// grid lays the loaders' tiles out in config order, reflowing them with the
// width, keeps the selection and the name filter.
type grid struct {
	ctx           *Context
	width, height int

	loaders  []warmup.LoaderSnapshot
	runState warmup.State
	// visible are the indexes in loaders of the tiles that pass the filter.
	visible []int
	// selected is the selected loader's name; it survives filtering.
	selected string
	// offset is the first tile row shown when they do not all fit.
	offset int

	filter  textinput.Model
	spinner spinner.Model
	tile    tile
	// history is the throughput of each loader, by index in loaders.
	history *throughput
}

func newGrid(ctx *Context) grid {
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = "loader name"
	in.CharLimit = 64
	g := grid{
		ctx:     ctx,
		filter:  in,
		spinner: spinner.New(spinner.WithSpinner(spinner.Points)),
		tile:    newTile(ctx),
	}
	g.applyStyles()
	return g
}

// applyStyles copies the context's styles into the bubbles components.
func (g *grid) applyStyles() {
	g.filter.SetStyles(g.ctx.Styles.Filter)
	g.spinner.Style = g.ctx.Styles.Running
	g.tile.applyStyles()
}

// SetSize sets the room the grid has.
func (g *grid) SetSize(w, h int) {
	g.width, g.height = w, h
	g.filter.SetWidth(max(w-30, 10))
	g.ensureVisible()
}

// KeyMap returns the grid's key bindings (those of the filter input while
// it has the focus). With a filter, r retries the loaders shown, and its
// help says so.
func (g grid) KeyMap() help.KeyMap {
	if g.Filtering() {
		return filterKeys{g.ctx.Keys}
	}
	k := g.ctx.Keys
	if g.Filtered() {
		k.Retry.SetHelp("r", "retry shown")
	}
	return k
}

// SetLoaders takes the loaders of a new snapshot, and their throughput.
func (g *grid) SetLoaders(ls []warmup.LoaderSnapshot, runState warmup.State, history *throughput) {
	g.loaders, g.runState, g.history = ls, runState, history
	g.refilter()
}

// Filtered reports whether a filter hides loaders from the grid.
func (g grid) Filtered() bool { return strings.TrimSpace(g.filter.Value()) != "" }

// Shown are the loaders the filter lets through.
func (g grid) Shown() []warmup.LoaderSnapshot {
	out := make([]warmup.LoaderSnapshot, len(g.visible))
	for i, li := range g.visible {
		out[i] = g.loaders[li]
	}
	return out
}

// Filtering reports whether the filter input has the focus.
func (g grid) Filtering() bool { return g.filter.Focused() }

// Selected returns the selected loader.
func (g grid) Selected() (warmup.LoaderSnapshot, bool) {
	i := g.selectedIndex()
	if i < 0 {
		return warmup.LoaderSnapshot{}, false
	}
	return g.loaders[g.visible[i]], true
}

// selectedIndex is the selection's index in visible, or -1.
func (g grid) selectedIndex() int {
	for i, li := range g.visible {
		if g.loaders[li].Name == g.selected {
			return i
		}
	}
	return -1
}

// refilter recomputes the visible tiles and keeps the selection on one of
// them.
func (g *grid) refilter() {
	q := strings.ToLower(strings.TrimSpace(g.filter.Value()))
	visible := make([]int, 0, len(g.loaders))
	for i, l := range g.loaders {
		if q == "" || strings.Contains(strings.ToLower(l.Name), q) {
			visible = append(visible, i)
		}
	}
	g.visible = visible
	if g.selectedIndex() < 0 && len(visible) > 0 {
		g.selected = g.loaders[visible[0]].Name
	}
	g.ensureVisible()
}

// Update handles the grid's keys and its spinner.
func (g *grid) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		var cmd tea.Cmd
		g.spinner, cmd = g.spinner.Update(msg)
		return cmd
	case tea.KeyPressMsg:
		if g.Filtering() {
			return g.updateFilter(msg)
		}
		k := g.ctx.Keys
		switch {
		case key.Matches(msg, k.Filter):
			return g.filter.Focus()
		case key.Matches(msg, k.Back):
			g.filter.Reset()
			g.refilter()
		case key.Matches(msg, k.Up, k.Down, k.Left, k.Right, k.Next, k.Prev):
			g.move(msg)
		}
	}
	return nil
}

func (g *grid) updateFilter(msg tea.KeyPressMsg) tea.Cmd {
	k := g.ctx.Keys
	switch {
	case key.Matches(msg, k.ApplyFilter):
		g.filter.Blur()
		return nil
	case key.Matches(msg, k.ClearFilter):
		g.filter.Reset()
		g.filter.Blur()
		g.refilter()
		return nil
	}
	var cmd tea.Cmd
	g.filter, cmd = g.filter.Update(msg)
	g.refilter()
	return cmd
}

// cols is the number of tile columns (see shape).
func (g grid) cols() int {
	c, _ := g.shape()
	return c
}

// shape lays the tiles out: as many columns as the width holds, then
// as few as keep the same number of rows, so that tiles grow with the
// terminal rather than leave a ragged last row; full tiles when every
// row of them fits, else compact ones.
func (g grid) shape() (cols, tileH int) {
	n := max(len(g.visible), 1)
	cols = min(max(1, g.width/minTileWidth), n)
	rows := (n + cols - 1) / cols
	cols = (n + rows - 1) / rows
	tileH = tileHeight
	if rows*tileHeight > g.avail() {
		return g.compactShape(n, cols, rows)
	}
	// Where rows are to spare, tiles grow down so that a long cause is
	// read whole (up to maxReasonLines lines).
	iw := g.width/cols - tileFrame - 2
	need := 0
	for _, i := range g.visible {
		need = max(need, len(wrapCause(latestReal(g.loaders[i]).Cause, iw)))
	}
	for extra := min(need, maxTileReasonLines) - 2; extra > 0; extra-- {
		if rows*(tileHeight+extra) <= g.avail() {
			return cols, tileHeight + extra
		}
	}
	return cols, tileH
}

// compactShape lays out tiles that do not fit full: compact ones in the
// columns the width gives, or, where not all rows of them fit, narrower
// columns and, last, tiles of a single line of cause: whichever shows the
// most tiles (the fewest rows hidden), so that a small terminal shows as
// many loaders as it can hold.
func (g grid) compactShape(n, cols, rows int) (int, int) {
	avail := g.avail()
	if rows*compactTileHeight <= avail {
		return cols, compactTileHeight
	}
	narrow := min(max(1, g.width/minCompactTileWidth), n)
	nrows := (n + narrow - 1) / narrow
	narrow = (n + nrows - 1) / nrows
	best, bestC, bestH := 0, cols, compactTileHeight
	for _, o := range []struct{ c, h int }{
		{cols, compactTileHeight}, {narrow, compactTileHeight}, {cols, minimalTileHeight}, {narrow, minimalTileHeight},
	} {
		r := (n + o.c - 1) / o.c
		fit := min(avail/o.h, r)
		if fit < r {
			// A scroll line takes a row's room.
			fit = min((avail-1)/o.h, r)
		}
		if shown := min(fit*o.c, n); shown > best {
			best, bestC, bestH = shown, o.c, o.h
		}
	}
	return bestC, bestH
}

// avail is the height left for tiles.
func (g grid) avail() int {
	if g.showFilter() {
		return g.height - 1
	}
	return g.height
}

// move moves the selection: arrows stop at the edges, tab and shift+tab
// wrap around.
func (g *grid) move(msg tea.KeyPressMsg) {
	n := len(g.visible)
	i := g.selectedIndex()
	if n == 0 || i < 0 {
		return
	}
	k, c := g.ctx.Keys, g.cols()
	switch {
	case key.Matches(msg, k.Right):
		i = min(i+1, n-1)
	case key.Matches(msg, k.Left):
		i = max(i-1, 0)
	case key.Matches(msg, k.Down):
		switch {
		case i+c < n:
			i += c
		case i/c < (n-1)/c:
			i = n - 1 // the row below is partial
		}
	case key.Matches(msg, k.Up):
		if i-c >= 0 {
			i -= c
		}
	case key.Matches(msg, k.Next):
		i = (i + 1) % n
	case key.Matches(msg, k.Prev):
		i = (i - 1 + n) % n
	}
	g.selected = g.loaders[g.visible[i]].Name
	g.ensureVisible()
}

// showFilter reports whether the filter line is shown.
func (g grid) showFilter() bool { return g.Filtering() || g.filter.Value() != "" }

// rowsShown is how many tile rows fit, and whether a scroll line is needed.
func (g grid) rowsShown() (rows int, scroll bool) {
	avail := g.avail()
	c, tileH := g.shape()
	total := (len(g.visible) + c - 1) / c
	rows = avail / tileH
	if total > rows {
		scroll = true
		rows = (avail - 1) / tileH
	}
	return max(rows, 1), scroll
}

// ensureVisible scrolls so that the selected tile's row is shown.
func (g *grid) ensureVisible() {
	rows, _ := g.rowsShown()
	total := (len(g.visible) + g.cols() - 1) / g.cols()
	if i := g.selectedIndex(); i >= 0 {
		r := i / g.cols()
		if r < g.offset {
			g.offset = r
		}
		if r >= g.offset+rows {
			g.offset = r - rows + 1
		}
	}
	g.offset = max(0, min(g.offset, total-rows))
}

// View renders the grid.
func (g grid) View() string {
	st := g.ctx.Styles
	var out []string
	if g.showFilter() {
		out = append(out, g.filter.View()+st.Muted.Render("  "+itoa(len(g.visible))+" of "+itoa(len(g.loaders))+" loaders"))
	}
	switch {
	case len(g.loaders) == 0 && g.runState == "":
		return strings.Join(append(out, st.Muted.Render("waiting for the first snapshot…")), "\n")
	case len(g.loaders) == 0:
		return strings.Join(append(out, st.Muted.Render("no loaders configured")), "\n")
	case len(g.visible) == 0:
		return strings.Join(append(out, st.Muted.Render("no loader name contains “"+g.filter.Value()+"”")), "\n")
	}

	c, tileH := g.shape()
	rows, scroll := g.rowsShown()
	total := (len(g.visible) + c - 1) / c
	tw := g.width / c
	sel := g.selectedIndex()
	t := g.tile
	t.SetSize(tw, tileH)
	spin := g.spinner.View()
	rowViews := make([]string, 0, rows)
	for r := g.offset; r < min(g.offset+rows, total); r++ {
		cells := make([]string, 0, c)
		for i := r * c; i < min((r+1)*c, len(g.visible)); i++ {
			var hist []float64
			if g.history != nil {
				hist = g.history.loader(g.visible[i])
			}
			t.set(g.loaders[g.visible[i]], g.runState, i == sel, spin, hist)
			cells = append(cells, t.View())
		}
		rowViews = append(rowViews, lipgloss.JoinHorizontal(lipgloss.Top, cells...))
	}
	out = append(out, rowViews...)
	if scroll {
		var parts []string
		if g.offset > 0 {
			parts = append(parts, "↑ "+plural(g.offset, "more row"))
		}
		if below := total - g.offset - rows; below > 0 {
			parts = append(parts, "↓ "+plural(below, "more row"))
		}
		out = append(out, st.Muted.Render(fit(strings.Join(parts, "  "), g.width)))
	}
	return strings.Join(out, "\n")
}
