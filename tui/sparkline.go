package tui

import (
	"strings"
	"time"

	"github.com/cachewarm/cachewarm/warmup"
)

// historyLen is how many seconds of throughput the sparklines show.
const historyLen = 60

// throughput keeps the items settled per second over the last minute, per
// loader and for the run, sampled from the snapshots the monitor reads
// anyway. Its clock is the snapshot's elapsed time, which stops when the
// run is done, so a finished run's sparklines stand still.
type throughput struct {
	sec     int64
	settled []int64
	// series[i] is loader i's history, series[len-1] the run's; oldest
	// first.
	series [][]float64
}

// observe takes a snapshot's counts; each whole second passed adds one
// sample per series.
func (t *throughput) observe(s warmup.Snapshot) {
	sec := int64(s.Elapsed / time.Second)
	n := len(s.Loaders) + 1
	if len(t.settled) == n && sec <= t.sec {
		// No whole second has passed: most ticks add no sample.
		return
	}
	settled := make([]int64, n)
	for i, l := range s.Loaders {
		settled[i] = l.Settled()
	}
	settled[n-1] = s.Fulfilled + s.Rejected
	if len(t.settled) != n {
		*t = throughput{sec: sec, settled: settled, series: make([][]float64, n)}
		return
	}
	d := sec - t.sec
	if d <= 0 {
		return
	}
	for i := range n {
		r := float64(max(settled[i]-t.settled[i], 0)) / float64(d)
		for range min(d, historyLen) {
			t.series[i] = append(t.series[i], r)
		}
		if over := len(t.series[i]) - historyLen; over > 0 {
			t.series[i] = append(t.series[i][:0], t.series[i][over:]...)
		}
	}
	t.sec, t.settled = sec, settled
}

// loader is loader i's history, or nil.
func (t *throughput) loader(i int) []float64 {
	if i < 0 || i >= len(t.series)-1 {
		return nil
	}
	return t.series[i]
}

// run is the run's history, or nil.
func (t *throughput) run() []float64 {
	if len(t.series) == 0 {
		return nil
	}
	return t.series[len(t.series)-1]
}

// sparkline draws the last w values, scaled to their maximum, right
// aligned; seconds not sampled yet are blank.
func sparkline(values []float64, w int) string {
	if w <= 0 {
		return ""
	}
	values = values[max(len(values)-w, 0):]
	top := 0.0
	for _, v := range values {
		top = max(top, v)
	}
	// The levels, lowest first: the height of the block says the rate,
	// without colour.
	blocks := [...]rune{'▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", w-len(values)))
	for _, v := range values {
		i := 0
		if top > 0 {
			i = min(int(v/top*float64(len(blocks)-1)+0.5), len(blocks)-1)
		}
		b.WriteRune(blocks[i])
	}
	return b.String()
}
