package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachewarm/cachewarm/warmup"
)

// count formats n with thousands separators: 1234567 -> "1,234,567".
func count(n int64) string {
	if n < 0 {
		return "-" + count(-n)
	}
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	head := len(s) % 3
	if head == 0 {
		head = 3
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/3)
	b.WriteString(s[:head])
	for i := head; i < len(s); i += 3 {
		b.WriteByte(',')
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// rate formats items per second.
func rate(r float64) string {
	switch {
	case r <= 0:
		return "0"
	case r < 10:
		return strconv.FormatFloat(r, 'f', 1, 64)
	default:
		return count(int64(r + 0.5))
	}
}

// latency formats a latency compactly: 850µs, 12ms, 1.2s.
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	default:
		return elapsed(d)
	}
}

// elapsed formats a run's duration: 12s, 3m07s, 1h02m.
func elapsed(d time.Duration) string {
	d = d.Round(time.Second)
	h := int(d / time.Hour)
	m := int(d % time.Hour / time.Minute)
	s := int(d % time.Minute / time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// oneLine turns any whitespace run (newlines, tabs) into a single space so
// that a reason fits on one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r\t") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// fit truncates a styled string to w cells, ending it with "…" when cut.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// spread puts left and right on one line of width w, right-aligned right;
// left is shortened first when both do not fit.
func spread(left, right string, w int) string {
	rw := lipgloss.Width(right)
	if rw >= w {
		return fit(right, w)
	}
	left = fit(left, w-rw-1)
	gap := w - lipgloss.Width(left) - rw
	return left + strings.Repeat(" ", gap) + right
}

// itoa formats a small int.
func itoa(n int) string { return strconv.Itoa(n) }

// plural formats "1 more row", "2 more rows".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return itoa(n) + " " + what + "s"
}

// rejectedOf is how many items the loaders rejected in all.
func rejectedOf(ls []warmup.LoaderSnapshot) int64 {
	var n int64
	for _, l := range ls {
		n += l.Rejected
	}
	return n
}
