package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/table"
)

// KeyMap holds every key binding of the monitor. There is exactly one key
// map; the views expose the subset that applies to them through
// help.KeyMap adapters built from it.
type KeyMap struct {
	Up    key.Binding
	Down  key.Binding
	Left  key.Binding
	Right key.Binding
	Next  key.Binding
	Prev  key.Binding

	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding

	Open key.Binding
	// AllFailures opens the causes of every loader's failures.
	AllFailures key.Binding
	// Copy puts the highlighted item's URL (or its key, when it was not
	// fetched) on the clipboard, through the terminal (OSC 52).
	Copy key.Binding
	// Sort cycles the failure lists' order: count, loader, attempts.
	Sort key.Binding
	// Switch turns the failure view from causes to items and back.
	Switch key.Binding
	Back   key.Binding
	Filter key.Binding
	// ApplyFilter and ClearFilter are active while the filter input has
	// the focus.
	ApplyFilter key.Binding
	ClearFilter key.Binding

	Retry key.Binding
	// RetryEverywhere retries the highlighted cause in every loader
	// (all failures).
	RetryEverywhere key.Binding
	// Resume reads on the sources Redis stopped (the grid).
	Resume key.Binding
	Help   key.Binding
	Quit   key.Binding
	// Interrupt is the part of Quit that still works while typing in the
	// filter input.
	Interrupt key.Binding
}

// DefaultKeyMap returns the monitor's key bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:    key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:  key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Left:  key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "left")),
		Right: key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "right")),
		Next:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next loader")),
		Prev:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous loader")),

		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first row")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last row")),

		Open:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "failures")),
		AllFailures: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "all failures")),
		Switch:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "causes/items")),
		Copy:        key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy URL or key")),
		Sort:        key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort: count/loader/attempts")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ApplyFilter: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
		ClearFilter: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),

		Retry:           key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry rejected")),
		RetryEverywhere: key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "retry cause in every loader")),
		Resume:          key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "resume reading after a stop")),
		Help:            key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:            key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Interrupt:       key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp implements help.KeyMap for the grid of tiles. Its line fits
// 80 columns, with or without a filter: q and ? last are the keys a
// newcomer looks for.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.AllFailures, k.Retry, k.Filter, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap for the grid of tiles.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Left, k.Right},
		{k.Next, k.Prev, k.Open, k.AllFailures, k.Filter},
		{k.Retry, k.Resume, k.ClearFilter, k.Help, k.Quit},
	}
}

// TableKeyMap returns the bubbles table key map made of this key map's
// bindings, so the failure table moves with the same keys the help lists.
func (k KeyMap) TableKeyMap() table.KeyMap {
	return table.KeyMap{
		LineUp:     k.Up,
		LineDown:   k.Down,
		PageUp:     k.PageUp,
		PageDown:   k.PageDown,
		GotoTop:    k.Top,
		GotoBottom: k.Bottom,
		// Half pages are not bound: a zero Binding never matches.
	}
}

// failureKeys is the failure view's part of the key map: r retries the
// highlighted cause, every item listed, or the one item shown.
type failureKeys struct {
	k    KeyMap
	mode failureMode
	all  bool
	// detail says one item is shown alone.
	detail bool
}

// retry and other are the bindings that depend on what is listed.
func (f failureKeys) bindings() (retry, other key.Binding) {
	k := f.k
	retry, other = k.Retry, k.Switch
	switch {
	case f.detail:
		retry.SetHelp("r", "retry this item")
		other.SetHelp("tab", "causes")
	case f.all:
		retry.SetHelp("r", "retry this cause")
		other = k.Open
		other.SetHelp("enter", "loader's failures")
	case f.mode == modeCauses:
		retry.SetHelp("r", "retry this cause")
		other.SetHelp("tab", "items")
	default:
		retry.SetHelp("r", "retry all listed")
		other.SetHelp("tab", "causes")
	}
	return retry, other
}

// ShortHelp implements help.KeyMap.
func (f failureKeys) ShortHelp() []key.Binding {
	k := f.k
	retry, other := f.bindings()
	// Moving is in the full help (?), as on the grid: at 80 columns the
	// short help must keep q.
	return []key.Binding{retry, other, k.Back, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (f failureKeys) FullHelp() [][]key.Binding {
	k := f.k
	retry, other := f.bindings()
	last := []key.Binding{retry}
	if f.all {
		last = append(last, k.RetryEverywhere)
	}
	if !f.all && f.mode == modeItems && !f.detail {
		detail := k.Open
		detail.SetHelp("enter", "item detail")
		last = append(last, detail, k.Copy)
	}
	search := k.Filter
	search.SetHelp("/", "search")
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown},
		{k.Top, k.Bottom, other, k.Back, search, k.Sort},
		append(last, k.Help, k.Quit),
	}
}

// filterKeys is the key map while the filter input has the focus.
type filterKeys struct{ k KeyMap }

// ShortHelp implements help.KeyMap.
func (f filterKeys) ShortHelp() []key.Binding {
	return []key.Binding{f.k.ApplyFilter, f.k.ClearFilter, f.k.Interrupt}
}

// FullHelp implements help.KeyMap.
func (f filterKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{f.ShortHelp()}
}

var (
	_ help.KeyMap = KeyMap{}
	_ help.KeyMap = failureKeys{}
	_ help.KeyMap = filterKeys{}
)
