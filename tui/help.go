package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// helpView is the footer's key help: one line, or every binding of the
// active view when toggled with '?'.
type helpView struct {
	ctx           *Context
	width, height int
	model         help.Model
	// keys are the bindings of the active view.
	keys help.KeyMap
}

func newHelpView(ctx *Context) helpView {
	h := helpView{ctx: ctx, model: help.New(), keys: ctx.Keys}
	h.applyStyles()
	return h
}

// applyStyles copies the context's styles into the help bubble.
func (h *helpView) applyStyles() { h.model.Styles = h.ctx.Styles.Help }

// SetSize sets the help's room.
func (h *helpView) SetSize(w, hh int) {
	h.width, h.height = w, hh
	h.model.SetWidth(w)
}

// SetShowAll switches between the short and the full help.
func (h *helpView) SetShowAll(all bool) { h.model.ShowAll = all }

// ShowAll reports whether the full help is shown.
func (h helpView) ShowAll() bool { return h.model.ShowAll }

// SetKeyMap sets the bindings to describe: those of the active view.
func (h *helpView) SetKeyMap(keys help.KeyMap) { h.keys = keys }

// Height is how many lines the help takes.
func (h helpView) Height() int { return lipgloss.Height(h.View()) }

// View renders the help. The short help drops its first bindings until
// it fits, never the last two (? help and q quit): those are what a
// newcomer looks for. Lines are clipped to the width: the bubble adds an
// item that does not fit when its ellipsis would not fit either.
func (h helpView) View() string {
	s := h.model.View(h.keys)
	if !h.model.ShowAll && h.width > 0 {
		// The bubble cuts a line to its width: measure it without one.
		whole := h.model
		whole.SetWidth(0)
		keys := h.keys.ShortHelp()
		for len(keys) > 2 && lipgloss.Width(whole.ShortHelpView(keys)) > h.width {
			keys = keys[1:]
		}
		s = whole.ShortHelpView(keys)
	}
	if h.model.ShowAll && h.width > 0 {
		s = h.fullHelp()
	}
	if h.width <= 0 || lipgloss.Width(s) <= h.width {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = fit(l, h.width)
	}
	return strings.Join(lines, "\n")
}

// fullHelp is the full help in as few rows as let every column show
// whole: where the view's columns are too wide for the terminal, their
// bindings are laid out again in more rows of fewer columns, in the
// same order, rather than cut the last column (where r and q are).
func (h helpView) fullHelp() string {
	whole := h.model
	whole.SetWidth(0)
	groups := h.keys.FullHelp()
	s := whole.FullHelpView(groups)
	if lipgloss.Width(s) <= h.width {
		return s
	}
	var all []key.Binding
	rows := 0
	for _, g := range groups {
		all = append(all, g...)
		rows = max(rows, len(g))
	}
	for ; rows <= len(all); rows++ {
		var regrouped [][]key.Binding
		for i := 0; i < len(all); i += rows {
			regrouped = append(regrouped, all[i:min(i+rows, len(all))])
		}
		if s = whole.FullHelpView(regrouped); lipgloss.Width(s) <= h.width {
			return s
		}
	}
	return s
}
