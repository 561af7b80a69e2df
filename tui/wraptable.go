package tui

import (
	"strings"

	"charm.land/bubbles/v2/table"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// wrappedTable renders a table whose column wrap is wrapped rather than
// cut: a cause is what the reader came for, and a row may take several
// lines for it. The bubble keeps the rows, the columns and the cursor
// (and moves it with the keys); this draws them in height lines, header
// included, scrolled so that the highlighted row shows whole.
//
// With onlyIfAll, the column is wrapped only when every row then fits
// the room: a long list is read one line a row (its highlighted row's
// reason is shown whole below it).
func wrappedTable(t table.Model, st table.Styles, wrap, height int, onlyIfAll bool) string {
	cols := t.Columns()
	var head []string
	for _, c := range cols {
		cell := lipgloss.NewStyle().Width(c.Width).MaxWidth(c.Width).Inline(true).Render(ansi.Truncate(c.Title, c.Width, "…"))
		head = append(head, st.Header.Render(cell))
	}
	header := lipgloss.JoinHorizontal(lipgloss.Top, head...)
	room := max(height-lipgloss.Height(header), 1)

	rows := t.Rows()
	if onlyIfAll && len(rows) > room {
		// One line a row is already more than the room.
		wrap = -1
	} else if onlyIfAll {
		lines := 0
		for _, r := range rows {
			if wrap < len(r) && wrap < len(cols) {
				lines += len(strings.Split(lipgloss.Wrap(r[wrap], max(cols[wrap].Width, 1), " /-:"), "\n"))
			}
		}
		if lines > room {
			wrap = -1
		}
	}
	// Only the rows that can show are drawn: those within a room's
	// height of the highlighted one (a row takes a line at least), so
	// that a frame costs the same for 50 rows as for 5,000.
	lo, hi := max(t.Cursor()-room, 0), min(t.Cursor()+room+1, len(rows))
	views := make([]string, len(rows))
	for i, r := range rows {
		if i < lo || i >= hi {
			continue
		}
		cells := make([]string, 0, len(cols))
		for j, c := range cols {
			if j >= len(r) || c.Width <= 0 {
				continue
			}
			v := ansi.Truncate(r[j], c.Width, "…")
			if j == wrap {
				v = lipgloss.Wrap(r[j], c.Width, " /-:")
			}
			lines := strings.Split(v, "\n")
			for k, l := range lines {
				lines[k] = lipgloss.NewStyle().Width(c.Width).MaxWidth(c.Width).Render(l)
			}
			cells = append(cells, st.Cell.Render(strings.Join(lines, "\n")))
		}
		views[i] = lipgloss.JoinHorizontal(lipgloss.Top, cells...)
		if i == t.Cursor() {
			lines := strings.Split(views[i], "\n")
			for k, l := range lines {
				lines[k] = st.Selected.Render(l)
			}
			views[i] = strings.Join(lines, "\n")
		}
	}
	// The first row shown is the one that lets the highlighted row end
	// within the room, as near the top as that allows.
	cur := min(max(t.Cursor(), 0), len(views)-1)
	first, used := 0, 0
	if cur >= 0 {
		for first = cur; first >= 0; first-- {
			h := lipgloss.Height(views[first])
			if used+h > room && first < cur {
				break
			}
			used += h
		}
		first++
	}
	out := []string{header}
	n := 0
	for i := first; i < len(views) && n < room; i++ {
		for _, l := range strings.Split(views[i], "\n") {
			if n == room {
				break
			}
			out = append(out, l)
			n++
		}
	}
	return strings.Join(out, "\n")
}
