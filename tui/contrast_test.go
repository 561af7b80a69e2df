package tui

import (
	"image/color"
	"math"
	"testing"

	"charm.land/lipgloss/v2"
)

// Every text a user must read reaches WCAG AA (4.5:1) against the
// background it is drawn on, light or dark: the xterm-256 palette's
// black and white and the near-black and near-white (235, 255) that
// terminal themes use. A style drawn reversed (the warning, the DEMO
// badge) has the same ratio, its colours swapped.
func TestStylesContrast(t *testing.T) {
	backgrounds := map[bool][]string{
		true:  {"#000000", "#262626"},
		false: {"#FFFFFF", "#EEEEEE"},
	}
	for _, dark := range []bool{true, false} {
		st := NewStyles(dark)
		texts := map[string]lipgloss.Style{
			"AppName": st.AppName, "Target": st.Target, "Demo": st.Demo,
			"Fulfilled": st.Fulfilled, "Rejected": st.Rejected, "Pending": st.Pending,
			"Running": st.Running, "Retrying": st.Retrying, "Stopping": st.Stopping,
			"Done": st.Done, "Muted": st.Muted, "Label": st.Label, "Warning": st.Warning,
			"Flash": st.Flash, "Spark": st.Spark,
			"Help.ShortKey": st.Help.ShortKey, "Help.ShortDesc": st.Help.ShortDesc,
			"Help.FullKey": st.Help.FullKey, "Help.FullDesc": st.Help.FullDesc,
			"Help.ShortSeparator": st.Help.ShortSeparator, "Help.Ellipsis": st.Help.Ellipsis,
			"Filter.Focused.Prompt": st.Filter.Focused.Prompt, "Filter.Blurred.Prompt": st.Filter.Blurred.Prompt,
			"Filter.Focused.Text": st.Filter.Focused.Text, "Filter.Blurred.Text": st.Filter.Blurred.Text,
			"Filter.Focused.Placeholder": st.Filter.Focused.Placeholder,
			"Filter.Blurred.Placeholder": st.Filter.Blurred.Placeholder,
		}
		for name, s := range texts {
			fg := s.GetForeground()
			if _, none := fg.(lipgloss.NoColor); fg == nil || none {
				continue // the terminal's own foreground
			}
			for _, bg := range backgrounds[dark] {
				if r := contrast(fg, lipgloss.Color(bg)); r < 4.5 {
					t.Errorf("dark=%v %s: %.2f:1 on %s, want at least 4.5:1", dark, name, r, bg)
				}
			}
		}
	}
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// luminance is a colour's WCAG 2 relative luminance.
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}
