package tui

import (
	"bytes"
	"fmt"
	"image/color"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// The on-call run of issue #24 at the sizes an on-call engineer has, on
// a light and a dark terminal, in the terminal's 256 colours: the golden
// files are the screens as drawn, colours included. Each screen is also
// checked for what the issue asks of it: at 80x24 every loader's tile is
// above the fold, the key line keeps "? help" and "q quit", and at 200x50
// the tiles grow but do not balloon.
func TestGoldenOnCallSizes(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 36}, {200, 50}} {
		for _, dark := range []bool{true, false} {
			shade := map[bool]string{true: "Dark", false: "Light"}[dark]
			t.Run(fmt.Sprintf("%dx%d%s", sz.w, sz.h, shade), func(t *testing.T) {
				screen := runOnCallScene(t, sz.w, sz.h, dark)
				golden.RequireEqual(t, screen)
				plain := ansi.Strip(string(screen))
				lines := strings.Split(plain, "\n")
				if len(lines) != sz.h {
					t.Fatalf("%d lines, want %d", len(lines), sz.h)
				}
				for _, l := range onCall().Loaders {
					if !strings.Contains(plain, l.Name) {
						t.Errorf("%s is below the fold:\n%s", l.Name, plain)
					}
				}
				if foot := lines[len(lines)-1]; !strings.Contains(foot, "? help") || !strings.Contains(foot, "q quit") {
					t.Errorf("the key line lacks ? help or q quit: %q", foot)
				}
				for i, l := range lines {
					if w := ansi.StringWidth(l); w > sz.w {
						t.Errorf("line %d is %d wide, the terminal %d: %q", i+1, w, sz.w, l)
					}
				}
				// A tile is at most as wide as a third of 200 columns, and
				// no taller than its content asks.
				for _, l := range lines {
					for _, top := range []string{"╭", "╔", "┌"} {
						for _, seg := range strings.Split(l, top)[1:] {
							if run := len([]rune(seg)) - len([]rune(strings.TrimLeft(seg, "─═"))); run > 68 {
								t.Errorf("a tile %d wide at %dx%d balloons:\n%s", run+2, sz.w, sz.h, plain)
							}
						}
					}
				}
			})
		}
	}
}

// runOnCallScene draws the on-call snapshot in a real program at w×h on
// a dark or light background and returns its final screen in 256
// colours.
func runOnCallScene(t *testing.T, w, h int, dark bool) []byte {
	t.Helper()
	snap := onCall()
	m := New(newFake(snap), Options{still: true})
	seedHistory(m.history, snap)
	tm := teatest.NewTestModel(t, m,
		teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ANSI256)),
	)
	bg := color.Color(color.Black)
	if !dark {
		bg = color.White
	}
	tm.Send(tea.BackgroundColorMsg{Color: bg})
	waitFor(t, tm, "recs-flaky")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final, ok := tm.FinalModel(t, teatest.WithFinalTimeout(waitTimeout)).(Model)
	if !ok {
		t.Fatal("final model is not a Model")
	}
	if final.ctx.Dark != dark {
		t.Fatalf("the model's background is dark=%v, want %v", final.ctx.Dark, dark)
	}
	var b bytes.Buffer
	pw := &colorprofile.Writer{Forward: &b, Profile: colorprofile.ANSI256}
	if _, err := pw.Write([]byte(final.View().Content)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
