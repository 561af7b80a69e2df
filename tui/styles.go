package tui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/table"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// Symbols that carry meaning next to colour, so that the monitor reads the
// same with NO_COLOR or a monochrome terminal.
const (
	symFulfilled = "✓"
	symRejected  = "✗"
	symRunning   = "●"
	symRetrying  = "↻"
	symStopping  = "■"
	symWaiting   = "⏸"
	// symRestarted marks a Redis restart the run saw: not a pause, a
	// thing that happened.
	symRestarted = "↺"
	symVerifying = "◎"
	symUnstarted = "○"
	symSelected  = "▶"
)

// Styles are every style of the monitor. They are built from the
// terminal's background by NewStyles and live in the shared Context.
type Styles struct {
	// Header.
	AppName   lipgloss.Style
	Target    lipgloss.Style
	Demo      lipgloss.Style
	HeaderBar lipgloss.Style

	// Words and numbers that carry a meaning.
	Fulfilled lipgloss.Style
	Rejected  lipgloss.Style
	Pending   lipgloss.Style
	Running   lipgloss.Style
	Retrying  lipgloss.Style
	Stopping  lipgloss.Style
	Done      lipgloss.Style
	Muted     lipgloss.Style
	Bold      lipgloss.Style

	// Tiles: the border type says the state (rounded: running, normal:
	// all fulfilled, double: has rejections) and so does the title marker.
	TileRunning  lipgloss.Style
	TileOK       lipgloss.Style
	TileRejected lipgloss.Style
	// TileSelected is the border colour of the selected tile; the
	// selection is also marked by symSelected before the name.
	TileSelected color.Color
	TileName     lipgloss.Style
	BarFull      color.Color
	BarEmpty     color.Color
	// Spark draws the items/s sparklines.
	Spark lipgloss.Style

	// Footer.
	Flash   lipgloss.Style
	Summary lipgloss.Style

	// Failure view.
	Section lipgloss.Style
	Label   lipgloss.Style
	// Warning is the waiting-for-Redis header: the run makes no progress
	// until Redis answers.
	Warning lipgloss.Style

	// Bubbles components.
	Table  table.Styles
	Help   help.Styles
	Filter textinput.Styles
}

// NewStyles builds the styles for a dark or a light background.
func NewStyles(dark bool) Styles {
	ld := lipgloss.LightDark(dark)
	var (
		fg = ld(lipgloss.Color("#1C1C1C"), lipgloss.Color("#E4E4E4"))
		// Muted text is still text: at least 4.5:1 against white and
		// #EEEEEE, black and #262626 (TestStylesContrast).
		muted  = ld(lipgloss.Color("#585858"), lipgloss.Color("#949494"))
		subtle = ld(lipgloss.Color("#C6C6C6"), lipgloss.Color("#4E4E4E"))
		green  = ld(lipgloss.Color("#005F00"), lipgloss.Color("#5FD787"))
		red    = ld(lipgloss.Color("#D70000"), lipgloss.Color("#FF5F5F"))
		amber  = ld(lipgloss.Color("#875F00"), lipgloss.Color("#FFD75F"))
		blue   = ld(lipgloss.Color("#005FD7"), lipgloss.Color("#5FAFFF"))
		accent = ld(lipgloss.Color("#8700AF"), lipgloss.Color("#D787FF"))
	)

	base := lipgloss.NewStyle()
	tile := base.Padding(0, 1)

	s := Styles{
		AppName:   base.Bold(true).Foreground(accent),
		Target:    base.Foreground(fg),
		Demo:      base.Bold(true).Reverse(true).Foreground(amber).Padding(0, 1),
		HeaderBar: base.Border(lipgloss.NormalBorder(), false, false, true, false).BorderForeground(subtle),

		Fulfilled: base.Foreground(green),
		Rejected:  base.Foreground(red),
		Pending:   base.Foreground(amber),
		Running:   base.Foreground(blue),
		Retrying:  base.Foreground(amber),
		Stopping:  base.Foreground(amber),
		Done:      base.Foreground(green).Bold(true),
		Muted:     base.Foreground(muted),
		Bold:      base.Bold(true),

		TileRunning:  tile.Border(lipgloss.RoundedBorder()).BorderForeground(blue),
		TileOK:       tile.Border(lipgloss.NormalBorder()).BorderForeground(green),
		TileRejected: tile.Border(lipgloss.DoubleBorder()).BorderForeground(red),
		TileSelected: accent,
		TileName:     base.Bold(true),
		BarFull:      blue,
		BarEmpty:     subtle,
		Spark:        base.Foreground(blue),

		Flash:   base.Foreground(amber).Bold(true),
		Summary: base.Bold(true),

		Section: base.Bold(true),
		Label:   base.Foreground(muted),
		Warning: base.Foreground(amber).Bold(true).Reverse(true).Padding(0, 1),
	}

	s.Table = table.Styles{
		Header: base.Bold(true).Padding(0, 1).
			Border(lipgloss.NormalBorder(), false, false, true, false).BorderForeground(subtle),
		Cell: base.Padding(0, 1),
		// Reverse video marks the highlighted row without colour.
		Selected: base.Bold(true).Reverse(true),
	}

	// The bubble's own help colours are the faintest on screen (2.1:1 on
	// white): the keys take the text colour, their words the muted one.
	s.Help = help.DefaultStyles(dark)
	s.Help.ShortKey = base.Foreground(fg).Bold(true)
	s.Help.FullKey = s.Help.ShortKey
	s.Help.ShortDesc = base.Foreground(muted)
	s.Help.FullDesc = s.Help.ShortDesc
	s.Help.ShortSeparator = base.Foreground(muted)
	s.Help.FullSeparator = s.Help.ShortSeparator
	s.Help.Ellipsis = s.Help.ShortSeparator

	s.Filter = textinput.DefaultStyles(dark)
	s.Filter.Focused.Prompt = base.Foreground(accent).Bold(true)
	s.Filter.Blurred.Prompt = base.Foreground(muted)
	s.Filter.Focused.Text = base.Foreground(fg)
	s.Filter.Blurred.Text = base.Foreground(fg)
	s.Filter.Focused.Placeholder = base.Foreground(muted)
	s.Filter.Blurred.Placeholder = base.Foreground(muted)
	// A steady cursor: blinking would redraw the screen for nothing.
	s.Filter.Cursor.Blink = false
	return s
}
