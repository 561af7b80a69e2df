package tui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/cachewarm/cachewarm/warmup"
)

// scaledRun is a mid-run snapshot of eight loaders with settled items in
// all, 1% of them rejected. Only the counts depend on settled: the loaders,
// their states and their progress are the same for every size.
func scaledRun(settled int64) warmup.Snapshot {
	const loaders = 8
	per := settled / loaders
	s := warmup.Snapshot{
		Redis: "redis://localhost:6379/0", State: warmup.StateRunning,
		Elapsed: 90 * time.Second, Rate: float64(settled) / 90,
	}
	for i := range loaders {
		rej := per / 100
		l := warmup.LoaderSnapshot{
			Name:      fmt.Sprintf("loader-%d", i),
			Source:    fmt.Sprintf("items-%d.jsonl → origin.test", i),
			Total:     per * 2,
			Read:      per + per/10,
			Fulfilled: per - rej,
			Rejected:  rej,
			InFlight:  16,
			Rate:      float64(per) / 90,
			P50:       12 * time.Millisecond, P95: 80 * time.Millisecond,
			LastReason: "GET https://origin.test/items/" + count(per) + ": 503 Service Unavailable",
		}
		if i%3 == 0 {
			l.Total = -1 // streaming
		}
		s.Loaders = append(s.Loaders, l)
	}
	return totals(s)
}

// benchModel is the monitor at 120x40 after one tick of snap.
func benchModel(tb testing.TB, snap warmup.Snapshot) (Model, *fakeEngine) {
	tb.Helper()
	eng := newFake(snap)
	var m tea.Model = New(eng, Options{still: true})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m, _ = m.Update(tickMsg{})
	return m.(Model), eng
}

type benchSize struct {
	name    string
	settled int64
}

func benchSizes() []benchSize {
	return []benchSize{{"1k", 1_000}, {"1M", 1_000_000}}
}

// BenchmarkView renders the grid for 1k and for 1M settled items: the
// cost depends on the number of loaders, not of items.
func BenchmarkView(b *testing.B) {
	for _, bs := range benchSizes() {
		b.Run(bs.name, func(b *testing.B) {
			m, _ := benchModel(b, scaledRun(bs.settled))
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkFrame is a whole frame: the tick that reads the snapshot, then
// the render.
func BenchmarkFrame(b *testing.B) {
	for _, bs := range benchSizes() {
		b.Run(bs.name, func(b *testing.B) {
			var m tea.Model
			m, _ = benchModel(b, scaledRun(bs.settled))
			b.ReportAllocs()
			for b.Loop() {
				m, _ = m.Update(tickMsg{})
				_ = m.View()
			}
		})
	}
}

// TestFrameCostIndependentOfItems checks what BenchmarkView measures, in a
// way that can fail: a frame for 1M settled items allocates no more than
// one for 1k, and the grid never asks for the rejected items.
func TestFrameCostIndependentOfItems(t *testing.T) {
	allocs := make([]float64, len(benchSizes()))
	for i, bs := range benchSizes() {
		var m tea.Model
		m, eng := benchModel(t, scaledRun(bs.settled))
		allocs[i] = testing.AllocsPerRun(20, func() {
			m, _ = m.Update(tickMsg{})
			_ = m.View()
		})
		if _, _, rej := eng.calls(); len(rej) != 0 {
			t.Fatalf("%s: the grid fetched rejections %v", bs.name, rej)
		}
	}
	if small, big := allocs[0], allocs[1]; big > small*1.05+5 {
		t.Fatalf("a frame allocates %.0f times for 1M items and %.0f for 1k", big, small)
	}
}

// BenchmarkItemsView draws the item list of a loader with the most
// rejections the engine keeps in memory: only the rows that can show are
// drawn, whatever the list's length.
func BenchmarkItemsView(b *testing.B) {
	eng := newFake(doneWithFailures())
	eng.rejections["sessions"] = sessionRejections(1000)
	m := New(eng, Options{still: true})
	next, _ := m.Update(tickMsg{})
	m = next.(Model)
	for _, k := range []string{"tab", "tab", "tab", "enter", "tab"} {
		next, _ = m.Update(keyMsg(k))
		m = next.(Model)
	}
	next, _ = m.Update(tickMsg{})
	m = next.(Model)
	b.ResetTimer()
	for range b.N {
		_ = m.View()
	}
}
