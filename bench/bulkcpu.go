package main

import (
	"fmt"
	"time"
)

// bulkCPUGoal is the bulk CPU goal: cachewarm's CPU time (user +
// system) per 1,000,000 SETs, at 1M items, so that the bulk ratio holds
// where client and server share the CPUs.
const bulkCPUGoal = 900 * time.Millisecond

// bulkCPURow adds the row of cachewarm's CPU time per 1M items of the
// bulk runs at size n (the median of the runs), with redis-cli --pipe's
// for scale in the notes.
func (b *bench) bulkCPURow(n int, res *bulkResult) {
	if len(res.cpu) == 0 {
		return
	}
	per := median(res.cpu) * time.Duration(1000000) / time.Duration(n)
	rw := row{target: b.bulkName() + ", CPU s per 1M", cachewarm: per,
		goal: fmt.Sprintf("≤ %.2f s per 1M SETs", bulkCPUGoal.Seconds()), ok: okOrMissed(per <= bulkCPUGoal)}
	if n < bulkTargetSize {
		rw.goal, rw.ok = "(target is at 1M)", "–"
	}
	b.rows = append(b.rows, rw)
	b.notes = append(b.notes, fmt.Sprintf("bulk %d: cachewarm's CPU time (user + system) per run: %s (the row shows their median per 1M items).", n, durations(res.cpu)))
}

// durations lists ds in seconds: "1.21, 1.30".
func durations(ds []time.Duration) string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.2f", d.Seconds())
	}
	return s
}
