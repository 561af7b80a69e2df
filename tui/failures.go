package tui

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/table"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// maxReasonLines caps the wrapped full reason below the item table.
const maxReasonLines = 4

// failureMode is what the failure view lists.
type failureMode int

const (
	// modeCauses lists the causes, most frequent first: what is failing
	// and why, at a glance.
	modeCauses failureMode = iota
	// modeItems lists the rejected items one by one.
	modeItems
)

// causeRow is one line of a cause summary.
type causeRow struct {
	loader string
	warmup.CauseCount
	// of is the count the share is taken of: the loader's rejected
	// items, or every loader's.
	of int64
	// retrying marks the row of a cause r was pressed on while its
	// items retry: they are no longer rejected, but the highlight stays
	// on it rather than slide onto another cause a second r would retry.
	retrying bool
}

// failureView shows why items failed: one loader's causes (or every
// loader's, "all failures"), and, a tab away, the loader's rejected items
// with the full reason of the highlighted one below them.
type failureView struct {
	ctx           *Context
	width, height int
	// itemsH and causesH are the lines the tables take, header included.
	itemsH, causesH int

	// all is the summary of every loader's causes.
	all     bool
	mode    failureMode
	loader  warmup.LoaderSnapshot
	loaders []warmup.LoaderSnapshot

	causes     []causeRow
	causeTable table.Model
	// detail shows the highlighted item alone, every field of it (enter
	// in the item list; esc goes back to the list).
	detail bool

	// rejections are the items listed: those fetched (all) that match
	// the search, in the sort's order.
	rejections []warmup.Rejection
	got        []warmup.Rejection
	// search narrows either list to the rows containing its text (/);
	// sortBy orders them (s).
	search textinput.Model
	sortBy sortKey
	table  table.Model
	// loaded is false from Open until the first list arrives.
	loaded bool
	// fetched are the loader's counters when the rejections were last
	// fetched; the list is fetched again once they change, and while a
	// retry runs.
	fetched warmup.LoaderSnapshot
	// stale forces the next fetch: a retry was asked for, whose items
	// may settle between two ticks and leave the counters as they were.
	stale bool
}

// sortKey is what the failure lists are sorted by; s cycles it.
type sortKey int

const (
	// byCount: the most frequent cause first; the items as rejected.
	byCount sortKey = iota
	// byLoader: all failures' causes by loader name, then count.
	byLoader
	// byAttempts: the items with the most attempts first.
	byAttempts
	sortKeys
)

func (k sortKey) String() string {
	return [...]string{"count", "loader", "attempts"}[k]
}

func newFailureView(ctx *Context) failureView {
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = "search"
	in.CharLimit = 64
	f := failureView{ctx: ctx, table: newTable(ctx), causeTable: newTable(ctx), search: in}
	f.applyStyles()
	return f
}

func newTable(ctx *Context) table.Model {
	return table.New(table.WithKeyMap(ctx.Keys.TableKeyMap()), table.WithFocused(true))
}

// applyStyles copies the context's styles into the tables.
func (f *failureView) applyStyles() {
	f.table.SetStyles(f.ctx.Styles.Table)
	f.causeTable.SetStyles(f.ctx.Styles.Table)
	f.search.SetStyles(f.ctx.Styles.Filter)
}

// KeyMap returns the failure view's key bindings.
func (f failureView) KeyMap() help.KeyMap {
	return failureKeys{k: f.ctx.Keys, mode: f.mode, all: f.all, detail: f.detail}
}

// Name is the loader whose failures are shown, "" for all failures.
func (f failureView) Name() string {
	if f.all {
		return ""
	}
	return f.loader.Name
}

// All reports whether the view sums up every loader's failures.
func (f failureView) All() bool { return f.all }

// Mode is what the view lists.
func (f failureView) Mode() failureMode { return f.mode }

// Open shows a loader's causes. The item list arrives with the next tick
// (see Stale).
func (f *failureView) Open(l warmup.LoaderSnapshot) {
	f.all, f.mode, f.detail = false, modeCauses, false
	f.search.Reset()
	f.search.Blur()
	f.loader = l
	f.loaded = false
	f.rejections = nil
	f.table.SetRows(nil)
	f.causes = nil
	f.causeTable.SetCursor(0)
	f.setCauses()
}

// OpenAll shows the causes of every loader.
func (f *failureView) OpenAll(ls []warmup.LoaderSnapshot) {
	f.all, f.mode, f.detail = true, modeCauses, false
	f.search.Reset()
	f.search.Blur()
	f.loaders = ls
	f.causes = nil
	f.causeTable.SetCursor(0)
	f.setCauses()
}

// Toggle switches between the causes and the items of one loader.
func (f *failureView) Toggle() {
	if f.all {
		return
	}
	if f.mode == modeCauses {
		f.mode = modeItems
	} else {
		f.mode = modeCauses
	}
	f.detail = false
	f.SetSize(f.width, f.height)
}

// SetLoaders takes the loaders of a new snapshot (all failures).
func (f *failureView) SetLoaders(ls []warmup.LoaderSnapshot) {
	f.loaders = ls
	f.setCauses()
}

// SetLoader takes one loader's counters from a new snapshot.
func (f *failureView) SetLoader(l warmup.LoaderSnapshot) {
	f.loader = l
	f.setCauses()
}

// setCauses rebuilds the cause rows from the snapshot: a handful per
// loader, counted by the engine as items are rejected. The highlight
// follows its cause when the rows are sorted anew; when the cause is
// gone (its items are retrying), it stays on the same row number.
func (f *failureView) setCauses() {
	at := f.causeTable.Cursor()
	was, had := f.highlighted()
	var rows []causeRow
	add := func(l warmup.LoaderSnapshot, of int64) {
		for _, c := range l.Causes {
			rows = append(rows, causeRow{loader: l.Name, CauseCount: c, of: of})
		}
	}
	if f.all {
		total := rejectedOf(f.loaders)
		for _, l := range f.loaders {
			add(l, total)
		}
		slices.SortStableFunc(rows, func(a, b causeRow) int { return cmp.Compare(b.Count, a.Count) })
	} else {
		add(f.loader, f.loader.Rejected)
	}
	if q := f.query(); q != "" {
		rows = slices.DeleteFunc(rows, func(r causeRow) bool {
			return !containsFold(q, r.loader, r.Cause, r.Example)
		})
	}
	if f.sortBy == byLoader {
		slices.SortStableFunc(rows, func(a, b causeRow) int { return cmp.Compare(a.loader, b.loader) })
	}
	if had && !slices.ContainsFunc(rows, func(r causeRow) bool { return r.loader == was.loader && r.Cause == was.Cause }) &&
		f.retryingIn(was.loader) {
		held := causeRow{loader: was.loader, CauseCount: warmup.CauseCount{Cause: was.Cause, Stage: was.Stage}, retrying: true}
		at = min(max(at, 0), len(rows))
		rows = slices.Insert(rows, at, held)
	}
	f.causes = rows
	// Columns first: the rows of all failures have one more column, and
	// a table must never hold rows of a width its columns are not.
	if len(f.causeTable.Columns()) != causeColumns(f.all) {
		f.causeTable.SetRows(nil)
	}
	f.sizeCauseColumns()
	trs := make([]table.Row, len(rows))
	for i, r := range rows {
		tr := table.Row{oneLine(r.Cause), count(r.Count), share(r.Count, r.of), oneLine(r.Example)}
		if r.retrying {
			tr = table.Row{oneLine(r.Cause), symRetrying, "", "retrying"}
		}
		if f.all {
			tr = append(table.Row{r.loader}, tr...)
		}
		trs[i] = tr
	}
	f.causeTable.SetRows(trs)
	if had {
		if i := slices.IndexFunc(rows, func(r causeRow) bool {
			return r.loader == was.loader && r.Cause == was.Cause
		}); i >= 0 {
			at = i
		}
	}
	if at = max(at, 0); len(trs) > 0 && at != f.causeTable.Cursor() {
		f.causeTable.SetCursor(at)
	}
}

// retryingIn reports whether the loader has items in a retry pass.
func (f failureView) retryingIn(loader string) bool {
	if !f.all {
		return f.loader.Name == loader && f.loader.Retrying > 0
	}
	for _, l := range f.loaders {
		if l.Name == loader {
			return l.Retrying > 0
		}
	}
	return false
}

// highlighted is the cause row under the highlight, in either mode.
func (f failureView) highlighted() (causeRow, bool) {
	i := f.causeTable.Cursor()
	if i < 0 || i >= len(f.causes) {
		return causeRow{}, false
	}
	return f.causes[i], true
}

// SelectedCause is the highlighted cause, while the causes are shown.
func (f failureView) SelectedCause() (causeRow, bool) {
	if f.mode != modeCauses {
		return causeRow{}, false
	}
	return f.highlighted()
}

// causeEverywhere is how many items were rejected with cause in all, and
// by which loaders, in config order (whatever the search shows).
func (f failureView) causeEverywhere(cause string) (int64, []string) {
	var n int64
	var loaders []string
	for _, l := range f.loaders {
		for _, c := range l.Causes {
			if c.Cause == cause {
				n += c.Count
				loaders = append(loaders, l.Name)
			}
		}
	}
	return n, loaders
}

// query is the search's text, lower-cased, "" when none.
func (f failureView) query() string { return strings.ToLower(strings.TrimSpace(f.search.Value())) }

// containsFold reports whether any of ss contains q (lower-case).
func containsFold(q string, ss ...string) bool {
	for _, s := range ss {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// Searching reports whether the search input has the focus.
func (f failureView) Searching() bool { return f.search.Focused() }

// StartSearch gives the search input the focus.
func (f *failureView) StartSearch() tea.Cmd {
	f.detail = false
	return f.search.Focus()
}

// UpdateSearch takes a key while the search input has the focus: enter
// keeps the search, esc clears it, anything else edits it.
func (f *failureView) UpdateSearch(msg tea.KeyPressMsg) tea.Cmd {
	k := f.ctx.Keys
	var cmd tea.Cmd
	switch {
	case key.Matches(msg, k.ApplyFilter):
		f.search.Blur()
	case key.Matches(msg, k.ClearFilter):
		f.search.Reset()
		f.search.Blur()
	default:
		f.search, cmd = f.search.Update(msg)
	}
	f.relist()
	return cmd
}

// CycleSort sorts the lists by the next key: count, loader, attempts.
func (f *failureView) CycleSort() {
	f.sortBy = (f.sortBy + 1) % sortKeys
	f.relist()
}

// relist applies the search and the sort to both lists.
func (f *failureView) relist() {
	f.setCauses()
	if f.loaded {
		f.listRejections()
	}
}

// searchLine is the line under the title: the search while there is one.
func (f failureView) searchLine() string {
	if !f.search.Focused() && f.search.Value() == "" {
		return ""
	}
	return f.search.View()
}

// SelectedRejection is the highlighted rejected item, while the items
// (or one of them) are shown.
func (f failureView) SelectedRejection() (warmup.Rejection, bool) {
	i := f.table.Cursor()
	if f.all || f.mode != modeItems || i < 0 || i >= len(f.rejections) {
		return warmup.Rejection{}, false
	}
	return f.rejections[i], true
}

// ShowDetail shows the highlighted item alone, or goes back to the list.
func (f *failureView) ShowDetail(on bool) {
	_, ok := f.SelectedRejection()
	f.detail = on && ok
}

// Detailed reports whether one item is shown alone.
func (f failureView) Detailed() bool { return f.detail }

// urlOf is the URL a rejected item was fetched from, "" when it was not
// (its reason says "fetch GET <url>: <cause>").
func urlOf(r warmup.Rejection) string {
	rest, ok := strings.CutPrefix(r.Reason, "fetch GET ")
	if !ok {
		return ""
	}
	if u, ok := strings.CutSuffix(rest, ": "+r.Cause); ok && r.Cause != "" {
		return u
	}
	u, _, _ := strings.Cut(rest, ": ")
	return u
}

// MarkStale makes the next tick fetch the item list again.
func (f *failureView) MarkStale() { f.stale = true }

// Stale reports whether the listed rejections must be fetched: never
// fetched yet, a retry asked for, or the loader's counters moved since.
func (f failureView) Stale() bool {
	if f.all || f.mode != modeItems {
		// The causes come with the snapshot; the list is read only
		// while it is shown.
		return false
	}
	if !f.loaded || f.stale {
		return true
	}
	a, b := f.loader, f.fetched
	return a.Rejected != b.Rejected || a.Fulfilled != b.Fulfilled || a.Retrying != b.Retrying
}

// SetRejections replaces the listed rejections. The table is made anew
// around them, the highlight kept on the same row number: a table whose
// rows were emptied by a retry and filled again would otherwise keep
// drawing the rows it had.
func (f *failureView) SetRejections(rs []warmup.Rejection) {
	f.got = rs
	f.fetched = f.loader
	f.loaded, f.stale = true, false
	f.listRejections()
}

// listRejections lists the fetched rejections that match the search, in
// the sort's order.
func (f *failureView) listRejections() {
	rs := f.got
	if q := f.query(); q != "" || f.sortBy == byAttempts {
		rs = slices.Clone(rs)
		if q != "" {
			rs = slices.DeleteFunc(rs, func(r warmup.Rejection) bool {
				return !containsFold(q, r.Cause, r.Reason, r.Key, string(r.Item), r.Where)
			})
		}
		if f.sortBy == byAttempts {
			slices.SortStableFunc(rs, func(a, b warmup.Rejection) int { return cmp.Compare(b.Attempts, a.Attempts) })
		}
	}
	f.rejections = rs
	rows := make([]table.Row, len(rs))
	for i, r := range rs {
		cause, detail := oneLine(r.Cause), oneLine(r.Detail())
		if cause == "" {
			cause = oneLine(r.Reason)
		}
		rows[i] = table.Row{cause, detail, compactJSON(r.Item), itoa(r.Attempts)}
	}
	at := max(f.table.Cursor(), 0)
	f.table = newTable(f.ctx)
	f.table.SetStyles(f.ctx.Styles.Table)
	// The table draws its rows with its columns: they come first.
	f.sizeItemColumns(rows)
	f.table.SetRows(rows)
	f.SetSize(f.width, f.height)
	if len(rows) > 0 {
		f.table.SetCursor(0)
		f.table.MoveDown(min(at, len(rows)-1))
	}
}

// SetSize sets the room the view has and sizes the tables' columns.
func (f *failureView) SetSize(w, h int) {
	f.width, f.height = w, h
	f.sizeItemColumns(f.table.Rows())
	f.sizeCauseColumns()
	// Title line, blank line, then the table; below the item table, a
	// blank line, the row's key line and the wrapped reason; below the
	// cause table, a blank line and the hint.
	f.itemsH, f.causesH = max(h-2-2-maxReasonLines, 3), max(h-2-1-maxHintLines, 3)
	f.table.SetWidth(w)
	f.table.SetHeight(f.itemsH)
	f.causeTable.SetWidth(w)
	f.causeTable.SetHeight(f.causesH)
	// Without a width the input cuts its placeholder to one letter.
	f.search.SetWidth(max(w-30, 10))
}

// cellPad is the room Styles.Table.Cell takes: one space each side.
const cellPad = 2

// Column widths of the tables: the cause is shown in full when the
// terminal allows it, the loader name is capped, and the detail (or the
// example) takes what is left and is the first to be cut.
const (
	// maxLoaderW caps the loader column of all failures; a longer name
	// is cut with "…".
	maxLoaderW = 20
	// minCauseW is what the cause keeps of the item table before the
	// detail and the item are cut: it wraps within it.
	minCauseW = 24
	// minDetailW and minItemW are what the detail and the item keep of
	// the item table when the cause needs more than is left.
	minDetailW, minItemW = 16, 8
	// minExampleW is what the example keeps of a cause table;
	// maxExampleW is what it gets when its longest needs that much
	// ("SET session:80", "GET /products/871"): an example cut to
	// "SET se…" tells nothing.
	minExampleW = len("example")
	maxExampleW = 20
	// maxHintLines is what the hint below a cause table may take: the
	// highlighted cause, whole, however narrow its column.
	maxHintLines = 3
)

// sizeItemColumns gives the item and the detail what their content
// needs (an item of one or two digits gets "item", not 16 cells; each is
// capped so that the cause keeps minCauseW) and the cause the rest: it
// wraps there rather than being cut. The highlighted item's reason is
// below the table in full.
func (f *failureView) sizeItemColumns(rows []table.Row) {
	const attemptsW = 8 // "attempts"
	rest := max(f.width-4*cellPad-attemptsW, minCauseW+len("detail")+len("item"))
	// The rows SetRejections built: {cause, detail, item, attempts}.
	causeW, detailW, itemW := len("cause"), len("detail"), len("item")
	for _, r := range rows {
		causeW = max(causeW, lipgloss.Width(r[0]))
		detailW = max(detailW, lipgloss.Width(r[1]))
		itemW = max(itemW, lipgloss.Width(r[2]))
	}
	// The cause first, leaving the detail (the URL, the key: what
	// tells the rows apart) and the item a little of what they need;
	// then the detail, then the item, each only what its content
	// needs; what they leave goes back to the cause.
	detailFloor, itemFloor := min(detailW, minDetailW), min(itemW, minItemW)
	causeW = min(causeW, rest-detailFloor-itemFloor)
	left := rest - causeW
	detailW = min(detailW, left-itemFloor)
	itemW = min(itemW, left-detailW)
	causeW = rest - detailW - itemW
	f.table.SetColumns([]table.Column{
		{Title: "cause", Width: causeW},
		{Title: "detail", Width: detailW},
		{Title: "item", Width: itemW},
		{Title: "attempts", Width: attemptsW},
	})
}

// causeColumns is the number of columns of a cause summary.
func causeColumns(all bool) int {
	if all {
		return 5
	}
	return 4
}

// sizeCauseColumns gives the numbers their width, the loader (of all
// failures) its name's up to maxLoaderW, the cause its full width up to
// what leaves the example minExampleW, and the example what is left.
func (f *failureView) sizeCauseColumns() {
	const countW, shareW = 7, 5
	cols := causeColumns(f.all)
	loaderW := 0
	if f.all {
		loaderW = len("loader")
		for _, r := range f.causes {
			loaderW = max(loaderW, lipgloss.Width(r.loader))
		}
		loaderW = min(loaderW, maxLoaderW)
	}
	rest := max(f.width-cols*cellPad-countW-shareW-loaderW, len("cause")+minExampleW)
	causeW := len("cause")
	for _, r := range f.causes {
		causeW = max(causeW, lipgloss.Width(oneLine(r.Cause)))
	}
	exampleW := minExampleW
	for _, r := range f.causes {
		exampleW = max(exampleW, lipgloss.Width(oneLine(r.Example)))
	}
	exampleW = min(exampleW, maxExampleW, rest/3)
	causeW = max(min(causeW, rest-exampleW), len("cause"))
	columns := []table.Column{
		{Title: "cause", Width: causeW},
		{Title: "items", Width: countW},
		{Title: "share", Width: shareW},
		{Title: "example", Width: rest - causeW},
	}
	if f.all {
		columns = append([]table.Column{{Title: "loader", Width: loaderW}}, columns...)
	}
	f.causeTable.SetColumns(columns)
}

// Update moves the highlight of the table shown.
func (f *failureView) Update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	if f.mode == modeCauses {
		f.causeTable, cmd = f.causeTable.Update(msg)
	} else {
		f.table, cmd = f.table.Update(msg)
	}
	return cmd
}

// View renders the failure view.
func (f failureView) View() string {
	switch {
	case f.mode == modeCauses:
		return f.causesView()
	case f.detail:
		return f.detailView()
	}
	return f.itemsView()
}

// tableView draws a table in at most height lines, its column wrap
// (the cause) wrapped, not cut, and the lines below it blank up to the
// table's height as the bubble's own view would leave them.
func (f failureView) tableView(t table.Model, height, wrap int, onlyIfAll bool) string {
	v := wrappedTable(t, f.ctx.Styles.Table, wrap, height, onlyIfAll)
	if n := lipgloss.Height(v); n < height {
		v += strings.Repeat("\n", height-n)
	}
	return v
}

// title is the view's first line: whose failures, the counts, and the
// sort when it is not the usual one.
func (f failureView) title() string {
	t := f.heading()
	if f.sortShown() {
		t += f.ctx.Styles.Muted.Render("  sorted by " + f.sortBy.String())
	}
	return t
}

// sortShown says whether the list on screen is in the unusual order
// sortBy names: by loader is an order of all failures' causes only, by
// attempts of items only.
func (f failureView) sortShown() bool {
	switch f.sortBy {
	case byLoader:
		return f.mode == modeCauses && f.all
	case byAttempts:
		return f.mode != modeCauses
	case byCount:
		// The usual order: nothing to say.
	}
	return false
}

// heading is the title without the sort.
func (f failureView) heading() string {
	st := f.ctx.Styles
	if f.all {
		var rej, ful int64
		for _, l := range f.loaders {
			rej += l.Rejected
			ful += l.Fulfilled
		}
		return st.Section.Render("all failures") + "  " +
			st.Rejected.Render(symRejected+" "+count(rej)+" rejected") + "  " +
			st.Fulfilled.Render(symFulfilled+" "+count(ful)+" fulfilled")
	}
	l := f.loader
	what := "causes"
	if f.mode == modeItems {
		what = "rejected items"
	}
	title := st.Section.Render("failures of "+l.Name) + st.Muted.Render(" · "+what) + "  " +
		st.Rejected.Render(symRejected+" "+count(l.Rejected)+" rejected") + "  " +
		st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)+" fulfilled")
	if l.Retrying > 0 {
		title += "  " + st.Retrying.Render(symRetrying+" retrying "+count(l.Retrying))
	}
	return title
}

// causesView is the cause summary: cause, items, share, an example.
func (f failureView) causesView() string {
	st := f.ctx.Styles
	w := max(f.width, 1)
	out := []string{fit(f.title(), w), fit(f.searchLine(), w)}
	if len(f.causes) == 0 && f.query() != "" {
		return strings.Join(append(out, st.Muted.Render("no cause, loader or example contains “"+f.search.Value()+"”")), "\n")
	}
	if len(f.causes) == 0 {
		who := "any loader"
		if !f.all {
			who = f.loader.Name
		}
		return strings.Join(append(out, st.Muted.Render("no rejected items for "+who)), "\n")
	}
	out = append(out, f.tableView(f.causeTable, f.causesH, causeColumns(f.all)-4, false), "")
	var listed, rejected int64
	for _, r := range f.causes {
		listed += r.Count
	}
	if f.all {
		rejected = rejectedOf(f.loaders)
	} else {
		rejected = f.loader.Rejected
	}
	var more, tab string
	if other := rejected - listed; other > 0 {
		more += " · " + count(other) + " more under other causes"
	}
	if !f.all {
		tab = " · tab lists the items"
	}
	var hint string
	if r, ok := f.SelectedCause(); ok && r.retrying {
		hint = "“" + oneLine(r.Cause) + "” is retrying in " + r.loader + ": r acts on it again once its items settle"
	} else if ok && r.Stage == warmup.StageSource {
		hint = "rejected at the source: a retry reads the same bytes; fix the file"
	} else if ok {
		// The hint names the cause r acts on, and in all failures the
		// loader, and the loaders R would retry it in.
		items := " items"
		if r.Count == 1 {
			items = " item"
		}
		hint = "r retries the " + count(r.Count) + items + " rejected with “" + oneLine(r.Cause) + "”"
		if f.all {
			hint += " in " + r.loader
			if n, loaders := f.causeEverywhere(r.Cause); len(loaders) > 1 {
				hint += " · R retries its " + count(n) + " in " + strings.Join(loaders, ", ")
			}
		}
	}
	hint += more + tab
	// The hint names the highlighted cause whole, wrapped: the table's
	// column may have cut it.
	lines := strings.Split(lipgloss.Wrap(hint, w, " /"), "\n")
	if len(lines) > maxHintLines {
		lines = lines[:maxHintLines]
		lines[maxHintLines-1] = fit(lines[maxHintLines-1]+" …", w)
	}
	for _, l := range lines {
		out = append(out, st.Muted.Render(l))
	}
	return strings.Join(out, "\n")
}

// itemsView lists the rejected items, the highlighted one's reason in
// full below.
func (f failureView) itemsView() string {
	st := f.ctx.Styles
	l := f.loader
	w := max(f.width, 1)
	out := []string{fit(f.title(), w), fit(f.searchLine(), w)}

	if !f.loaded {
		out = append(out, st.Muted.Render("loading rejected items…"))
		return strings.Join(out, "\n")
	}
	if len(f.rejections) == 0 && f.query() != "" {
		out = append(out, st.Muted.Render("no rejected item of "+l.Name+" contains “"+f.search.Value()+"”"))
		return strings.Join(out, "\n")
	}
	if len(f.rejections) == 0 {
		out = append(out, st.Muted.Render("no rejected items for "+l.Name))
		return strings.Join(out, "\n")
	}
	out = append(out, f.tableView(f.table, f.itemsH, 0, true), "")

	i := f.table.Cursor()
	if i < 0 || i >= len(f.rejections) {
		return strings.Join(out, "\n")
	}
	r := f.rejections[i]
	info := st.Label.Render("row ") + itoa(i+1) + "/" + itoa(len(f.rejections))
	if l.Rejected > int64(len(f.rejections)) {
		// The engine keeps the latest rejections in memory; the report
		// lists them all.
		info += st.Label.Render(" (latest of ") + strconv.FormatInt(l.Rejected, 10) + st.Label.Render(")")
	}
	info += st.Label.Render("  key ") + oneLine(r.Key) +
		st.Label.Render("  attempts ") + itoa(r.Attempts)
	if r.Where != "" {
		info += st.Label.Render("  at ") + r.Where
	}
	out = append(out, fit(info, w))

	label := st.Label.Render("reason ")
	wrapped := lipgloss.Wrap(r.Reason, max(w-lipgloss.Width(label), 10), " /-")
	lines := strings.Split(wrapped, "\n")
	if len(lines) > maxReasonLines {
		lines = lines[:maxReasonLines]
		lines[maxReasonLines-1] = fit(lines[maxReasonLines-1]+" …", w-lipgloss.Width(label))
	}
	indent := strings.Repeat(" ", lipgloss.Width(label))
	for j, line := range lines {
		if j == 0 {
			out = append(out, label+line)
		} else {
			out = append(out, indent+line)
		}
	}
	return strings.Join(out, "\n")
}

// detailView is one rejected item, every field on its own line, the long
// ones wrapped: nothing is cut.
func (f failureView) detailView() string {
	st := f.ctx.Styles
	w := max(f.width, 1)
	r, ok := f.SelectedRejection()
	if !ok {
		return f.itemsView()
	}
	i := f.table.Cursor()
	title := st.Section.Render("failures of "+f.loader.Name) + st.Muted.Render(" · item "+itoa(i+1)+" of "+itoa(len(f.rejections)))
	out := []string{fit(title, w), ""}
	const labelW = len("attempts  ")
	field := func(label, value string) {
		if value == "" {
			return
		}
		lines := strings.Split(lipgloss.Wrap(value, max(w-labelW, 10), " /-,"), "\n")
		for j, l := range lines {
			lead := strings.Repeat(" ", labelW)
			if j == 0 {
				lead = st.Label.Render(label + strings.Repeat(" ", labelW-len(label)))
			}
			out = append(out, lead+l)
		}
	}
	field("item", compactJSON(r.Item))
	field("key", oneLine(r.Key))
	field("url", urlOf(r))
	field("attempts", itoa(r.Attempts))
	field("stage", string(r.Stage))
	field("at", r.Where)
	field("cause", oneLine(r.Cause))
	field("reason", oneLine(r.Reason))
	if len(r.History) > 0 {
		// Every attempt kept, its time and its error, the latest last:
		// a cause that changed between attempts shows here.
		out = append(out, "")
		if shown := len(r.History); r.Attempts > shown {
			out = append(out, st.Label.Render("the latest "+itoa(shown)+" of "+itoa(r.Attempts)+" attempts"))
		}
		for _, a := range r.History {
			field("#"+itoa(a.N), a.At.Format("15:04:05.000")+"  "+oneLine(a.Error))
		}
	}
	return strings.Join(out, "\n")
}

// share formats n of total as a percentage.
func share(n, total int64) string {
	if total <= 0 {
		return "–"
	}
	return fmt.Sprintf("%d%%", (n*100+total/2)/total)
}

// compactJSON shows an item on one line.
func compactJSON(raw json.RawMessage) string { return oneLine(string(source.CompactJSON(raw))) }
