package tui

// Context is the state every component shares: the window size, the
// background flavour, the styles built from it and the key map. The root
// model owns it and passes a pointer down; components read it and never
// write it.
type Context struct {
	// Width and Height are the terminal's size.
	Width, Height int
	// Dark is true when the terminal background is dark (the default
	// until the terminal answers tea.RequestBackgroundColor).
	Dark   bool
	Styles Styles
	Keys   KeyMap
}

// NewContext returns a context for a dark terminal of the given size.
func NewContext(width, height int) *Context {
	return &Context{
		Width:  width,
		Height: height,
		Dark:   true,
		Styles: NewStyles(true),
		Keys:   DefaultKeyMap(),
	}
}

// SetDark switches the styles to a dark or light background.
func (c *Context) SetDark(dark bool) {
	c.Dark = dark
	c.Styles = NewStyles(dark)
}

// component is what every part of the screen below the root model
// provides: it renders a string and is told its size. Only the root model
// returns a tea.View; the views that take keys (grid, failures) also name
// them for the help line.
type component interface {
	View() string
	SetSize(w, h int)
}

var (
	_ component = (*header)(nil)
	_ component = (*grid)(nil)
	_ component = (*tile)(nil)
	_ component = (*failureView)(nil)
	_ component = (*helpView)(nil)
)
