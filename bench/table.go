//go:build linux

// The result table and the statistics its cells are made of.

package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// best is the shortest duration of ds.
func best(ds []time.Duration) time.Duration { return slices.Min(ds) }

// pairedRatio is the median of cachewarm[i] ÷ baseline[i]: runs timed
// back to back.
func pairedRatio(baseline, cachewarm []time.Duration) float64 {
	rs := make([]float64, len(baseline))
	for i := range baseline {
		rs[i] = cachewarm[i].Seconds() / baseline[i].Seconds()
	}
	slices.Sort(rs)
	if len(rs)%2 == 1 {
		return rs[len(rs)/2]
	}
	return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
}

// ratios lists each run's ratio: "1.05, 0.98, 1.12".
func ratios(baseline, cachewarm []time.Duration) string {
	out := make([]string, len(baseline))
	for i := range baseline {
		out[i] = fmt.Sprintf("%.2f", cachewarm[i].Seconds()/baseline[i].Seconds())
	}
	return strings.Join(out, ", ")
}

// median is the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// perItem is microseconds per item.
func perItem(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }

// mb converts KiB to MB (MiB).
func mb(kib int64) float64 { return float64(kib) / 1024 }

// short writes n as 10k, 100k, 1M.
func short(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return strconv.Itoa(n/1000000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// okOrMissed is the ok column of a speed or memory goal.
func okOrMissed(met bool) string {
	if met {
		return "ok"
	}
	return "MISSED"
}

// printTable writes rows as an aligned markdown table.
func printTable(w io.Writer, rows []row) {
	header := []string{"target", "items", "baseline s", "cachewarm s", "items/s", "µs/item", "peak RSS MB", "ratio", "goal", "ok"}
	right := []bool{false, true, true, true, true, true, true, true, false, false}
	cells := [][]string{header}
	dash := "–"
	for _, r := range rows {
		c := []string{r.target, dash, dash, dash, dash, dash, dash, dash, r.goal, r.ok}
		if r.items > 0 {
			c[1] = strconv.Itoa(r.items)
		}
		if r.baseline > 0 {
			c[2] = fmt.Sprintf("%.3f", r.baseline.Seconds())
		}
		if r.cachewarm > 0 {
			c[3] = fmt.Sprintf("%.3f", r.cachewarm.Seconds())
		}
		if r.cachewarm > 0 && r.items > 1 { // a rate of one item says nothing
			c[4] = strconv.FormatFloat(float64(r.items)/r.cachewarm.Seconds(), 'f', 0, 64)
			c[5] = fmt.Sprintf("%.2f", perItem(r.cachewarm, r.items))
		}
		if r.rssKB > 0 {
			c[6] = fmt.Sprintf("%.1f", mb(r.rssKB))
		}
		if r.ratio > 0 {
			c[7] = fmt.Sprintf("%.2f", r.ratio)
		}
		cells = append(cells, c)
	}
	widths := make([]int, len(header))
	for _, c := range cells {
		for i, s := range c {
			widths[i] = max(widths[i], len([]rune(s)))
		}
	}
	line := func(c []string) {
		var sb strings.Builder
		sb.WriteString("|")
		for i, s := range c {
			pad := strings.Repeat(" ", widths[i]-len([]rune(s)))
			if right[i] {
				sb.WriteString(" " + pad + s + " |")
			} else {
				sb.WriteString(" " + s + pad + " |")
			}
		}
		fmt.Fprintln(w, sb.String())
	}
	line(cells[0])
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", widths[i])
		if right[i] {
			sep[i] = sep[i][1:] + ":"
		}
	}
	line(sep)
	for _, c := range cells[1:] {
		line(c)
	}
}
