package tui

import (
	"bytes"
	"encoding/json"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/table"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/cachewarm/cachewarm/warmup"
)

// maxReasonLines caps the wrapped full reason below the table.
const maxReasonLines = 4

// failureView lists one loader's rejected items in a table, with the full
// reason of the highlighted row wrapped below it.
type failureView struct {
	ctx           *Context
	width, height int

	loader     warmup.LoaderSnapshot
	rejections []warmup.Rejection
	table      table.Model
	// loaded is false from Open until the first list arrives.
	loaded bool
	// fetched are the loader's counters when the rejections were last
	// fetched; the list is fetched again only once they change.
	fetched warmup.LoaderSnapshot
}

func newFailureView(ctx *Context) failureView {
	f := failureView{
		ctx: ctx,
		table: table.New(
			table.WithKeyMap(ctx.Keys.TableKeyMap()),
			table.WithFocused(true),
		),
	}
	f.applyStyles()
	return f
}

// applyStyles copies the context's styles into the table.
func (f *failureView) applyStyles() {
	f.table.SetStyles(f.ctx.Styles.Table)
}

// KeyMap returns the failure view's key bindings.
func (f failureView) KeyMap() help.KeyMap { return failureKeys{f.ctx.Keys} }

// Name is the loader whose failures are shown.
func (f failureView) Name() string { return f.loader.Name }

// Open shows the failures of a loader. The list itself arrives with the
// next tick (see Stale).
func (f *failureView) Open(l warmup.LoaderSnapshot) {
	f.loader = l
	f.loaded = false
	f.rejections = nil
	f.table.SetRows(nil)
}

// SetLoader takes the loader's counters from a new snapshot.
func (f *failureView) SetLoader(l warmup.LoaderSnapshot) { f.loader = l }

// Stale reports whether the rejections must be fetched: never fetched
// yet, or the loader's counters moved since.
func (f failureView) Stale() bool {
	if !f.loaded {
		return true
	}
	a, b := f.loader, f.fetched
	return a.Rejected != b.Rejected || a.Fulfilled != b.Fulfilled || a.Retrying != b.Retrying
}

// SetRejections replaces the listed rejections.
func (f *failureView) SetRejections(rs []warmup.Rejection) {
	f.rejections = rs
	f.fetched = f.loader
	f.loaded = true
	rows := make([]table.Row, len(rs))
	for i, r := range rs {
		rows[i] = table.Row{compactJSON(r.Item), oneLine(r.Key), oneLine(r.Reason), itoa(r.Attempts)}
	}
	f.table.SetRows(rows)
	if f.table.Cursor() < 0 && len(rows) > 0 {
		f.table.SetCursor(0)
	}
}

// SetSize sets the room the view has and sizes the table's columns.
func (f *failureView) SetSize(w, h int) {
	f.width, f.height = w, h
	const attemptsW = 8 // "attempts"
	const cellPad = 2   // Styles.Table.Cell pads one space each side
	rest := max(w-4*cellPad-attemptsW, 12)
	itemW := rest * 30 / 100
	keyW := rest * 25 / 100
	f.table.SetColumns([]table.Column{
		{Title: "item", Width: itemW},
		{Title: "key", Width: keyW},
		{Title: "reason", Width: rest - itemW - keyW},
		{Title: "attempts", Width: attemptsW},
	})
	f.table.SetWidth(w)
	// Title line, blank line, then the table, then the detail block:
	// a blank line, the row's key line and the wrapped reason.
	f.table.SetHeight(max(h-2-2-maxReasonLines, 3))
}

// Update moves the table's highlight.
func (f *failureView) Update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	f.table, cmd = f.table.Update(msg)
	return cmd
}

// View renders the failure view.
func (f failureView) View() string {
	st := f.ctx.Styles
	l := f.loader
	w := max(f.width, 1)
	title := st.Section.Render("failures of "+l.Name) + "  " +
		st.Rejected.Render(symRejected+" "+count(l.Rejected)+" rejected") + "  " +
		st.Fulfilled.Render(symFulfilled+" "+count(l.Fulfilled)+" fulfilled")
	if l.Retrying > 0 {
		title += "  " + st.Retrying.Render(symRetrying+" retrying "+count(l.Retrying))
	}
	out := []string{fit(title, w), ""}

	if !f.loaded {
		out = append(out, st.Muted.Render("loading rejected items…"))
		return strings.Join(out, "\n")
	}
	if len(f.rejections) == 0 {
		out = append(out, st.Muted.Render("no rejected items for "+l.Name))
		return strings.Join(out, "\n")
	}
	out = append(out, f.table.View(), "")

	i := f.table.Cursor()
	if i < 0 || i >= len(f.rejections) {
		return strings.Join(out, "\n")
	}
	r := f.rejections[i]
	info := st.Label.Render("row ") + itoa(i+1) + "/" + itoa(len(f.rejections)) +
		st.Label.Render("  key ") + oneLine(r.Key) +
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

// compactJSON shows an item on one line.
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return oneLine(string(raw))
	}
	return b.String()
}
