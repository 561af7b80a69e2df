package warmup

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// Merged says which shards a merged report combines.
type Merged struct {
	N      int   `json:"n"`
	Shards []int `json:"shards"`
	// Missing are the shards no report was given for: their items are in
	// no count, so every loader's not_started is -1.
	Missing []int `json:"missing,omitempty"`
}

// ShardResume is where one shard's source stopped, in a merged report.
type ShardResume struct {
	Shard int `json:"shard"`
	source.Resume
}

// Merge is a merge of shard reports opened for writing: its totals, in
// memory, and the rejected items, streamed from the shards' files when
// it is written.
type Merge struct {
	// Report holds the merged totals; its loaders' RejectedItems are nil.
	Report *Report
	shards []*ReportFile
	// index maps a merged loader to its index in each shard's report.
	index [][]int
}

// MergeReports opens the reports of the shards of one run and adds them
// up. It refuses reports that are not a shard's, of another config, of
// another number of shards, or of a shard given twice; shards not given
// are listed in Merged.Missing.
func MergeReports(paths []string) (*Merge, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("merge: no reports given")
	}
	m := &Merge{}
	seen := map[int]string{}
	for _, p := range paths {
		rf, err := OpenReport(p)
		if err != nil {
			return nil, err
		}
		rep := rf.Report
		switch {
		case rep.Merged != nil:
			return nil, fmt.Errorf("merge: %s is a merged report already: merge the shards' own reports", p)
		case rep.Shard == nil:
			return nil, fmt.Errorf("merge: %s is not a shard's report (it was not run with --shard)", p)
		}
		if err := checkCounts(rep); err != nil {
			return nil, fmt.Errorf("merge: %s: %w: not a report cachewarm wrote (edited by hand?)", p, err)
		}
		sh := *rep.Shard
		if err := sh.check(); err != nil {
			return nil, fmt.Errorf("merge: %s: shard %w: not a report cachewarm wrote (edited by hand?)", p, err)
		}
		if prev, ok := seen[sh.K]; ok {
			return nil, fmt.Errorf("merge: %s and %s are both of shard %s", prev, p, sh)
		}
		seen[sh.K] = p
		if len(m.shards) > 0 {
			if err := sameRun(m.shards[0], rf); err != nil {
				return nil, fmt.Errorf("merge: %w", err)
			}
		}
		m.shards = append(m.shards, rf)
	}
	slices.SortFunc(m.shards, func(a, b *ReportFile) int { return a.Report.Shard.K - b.Report.Shard.K })
	m.add()
	return m, nil
}

// checkCounts refuses a report whose counts no run writes: a negative
// count (not_started -1 aside, "unknown"), more warm than fulfilled or
// more rejected at the source than rejected, or totals that are not the
// sums of the loaders'. A merge adds such counts into figures users trust.
func checkCounts(rep *Report) error {
	var sum ReportTotals
	for _, l := range rep.Loaders {
		if err := checkTotals("loader "+l.Name, l.Fulfilled, l.Warm, l.Rejected, l.RejectedAtSource, l.FulfilledBefore, l.NotStarted); err != nil {
			return err
		}
		sum.Fulfilled += l.Fulfilled
		sum.Warm += l.Warm
		sum.Rejected += l.Rejected
		sum.RejectedAtSource += l.RejectedAtSource
		sum.FulfilledBefore += l.FulfilledBefore
		sum.NotStarted += max(l.NotStarted, 0)
	}
	if err := checkTotals("the totals", rep.Fulfilled, rep.Warm, rep.Rejected, rep.RejectedAtSource, rep.FulfilledBefore, rep.NotStarted); err != nil {
		return err
	}
	for _, c := range []struct {
		name       string
		total, sum int64
	}{
		{"fulfilled", rep.Fulfilled, sum.Fulfilled},
		{"warm", rep.Warm, sum.Warm},
		{"rejected", rep.Rejected, sum.Rejected},
		{"rejected_at_source", rep.RejectedAtSource, sum.RejectedAtSource},
		{"fulfilled_before", rep.FulfilledBefore, sum.FulfilledBefore},
		{"not_started", rep.NotStarted, sum.NotStarted},
	} {
		if c.total != c.sum {
			return fmt.Errorf("%s is %d, but its loaders' add up to %d", c.name, c.total, c.sum)
		}
	}
	if v := rep.Verify; v != nil && (v.Checked < 0 || v.Failed < 0 || v.Failed > v.Checked) {
		return fmt.Errorf("verify counts checked %d, failed %d", v.Checked, v.Failed)
	}
	return nil
}

// checkTotals refuses one set of counts (what names whose) that no run
// writes.
func checkTotals(what string, fulfilled, warm, rejected, atSource, before, notStarted int64) error {
	switch {
	case fulfilled < 0 || warm < 0 || rejected < 0 || atSource < 0 || before < 0 || notStarted < -1:
		return fmt.Errorf("%s have a negative count", what)
	case warm > fulfilled:
		return fmt.Errorf("%s have %d warm of %d fulfilled", what, warm, fulfilled)
	case atSource > rejected:
		return fmt.Errorf("%s have %d rejected at the source of %d rejected", what, atSource, rejected)
	}
	return nil
}

// sameRun refuses b unless it is a shard of the run a is a shard of: the
// same config, loaders and number of shards.
func sameRun(a, b *ReportFile) error {
	ra, rb := a.Report, b.Report
	if ra.Shard.N != rb.Shard.N {
		return fmt.Errorf("%s is of shard %s, %s of shard %s: a run split into different numbers of shards", a.Path, ra.Shard, b.Path, rb.Shard)
	}
	if ra.Config != rb.Config {
		return fmt.Errorf("%s is of config %s, %s of config %s", a.Path, ra.Config, b.Path, rb.Config)
	}
	if la, lb := loaderList(ra), loaderList(rb); la != lb {
		return fmt.Errorf("%s has loaders %s, %s has %s: not the same config (or --only)", a.Path, la, b.Path, lb)
	}
	return nil
}

// loaderList names a report's loaders and their sources, in order.
func loaderList(rep *Report) string {
	var b strings.Builder
	for i, l := range rep.Loaders {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.Name + " (" + l.Source + ")")
	}
	return b.String()
}

// add sums the shards' totals into m.Report.
func (m *Merge) add() {
	first := m.shards[0].Report
	n := first.Shard.N
	rep := &Report{Loaders: make([]LoaderReport, len(first.Loaders))}
	rep.Merged = &Merged{N: n}
	rep.Redis, rep.Config, rep.Started = first.Redis, first.Config, first.Started
	var end time.Time
	var stopped, topologies []string
	for i, l := range first.Loaders {
		rep.Loaders[i].Name, rep.Loaders[i].Source = l.Name, l.Source
	}
	m.index = make([][]int, len(rep.Loaders))
	for _, rf := range m.shards {
		sr := rf.Report
		k := sr.Shard.K
		rep.Merged.Shards = append(rep.Merged.Shards, k)
		rep.Fulfilled += sr.Fulfilled
		rep.Warm += sr.Warm
		rep.Rejected += sr.Rejected
		rep.RejectedAtSource += sr.RejectedAtSource
		rep.FulfilledBefore += sr.FulfilledBefore
		rep.NotStarted += max(sr.NotStarted, 0)
		rep.Interrupted = rep.Interrupted || sr.Interrupted
		rep.Verify = mergeVerify(rep.Verify, sr.Verify, len(rep.Merged.Shards) == 1)
		rep.KeysInDoubt = rep.KeysInDoubt || sr.KeysInDoubt
		for _, p := range sr.RedisProcesses {
			if !slices.Contains(rep.RedisProcesses, p) {
				rep.RedisProcesses = append(rep.RedisProcesses, p)
			}
		}
		slices.Sort(rep.RedisProcesses)
		rep.OutagesMore += sr.OutagesMore
		for _, o := range sr.Outages {
			o.Shard = &k
			rep.Outages = append(rep.Outages, o)
		}
		if sr.Stopped != "" {
			stopped = append(stopped, "shard "+strconv.Itoa(k)+": "+sr.Stopped)
		}
		if sr.Topology != "" && !slices.Contains(topologies, sr.Topology) {
			// A sentinel master that moved between shards' runs shows
			// both of its addresses.
			topologies = append(topologies, sr.Topology)
		}
		if sr.Started.Before(rep.Started) {
			rep.Started = sr.Started
		}
		if e := sr.Started.Add(time.Duration(sr.Seconds * float64(time.Second))); e.After(end) {
			end = e
		}
		for i := range rep.Loaders {
			ml := &rep.Loaders[i]
			j := slices.IndexFunc(sr.Loaders, func(l LoaderReport) bool { return l.Name == ml.Name })
			m.index[i] = append(m.index[i], j)
			addLoader(ml, &sr.Loaders[j].LoaderTotals, k)
		}
	}
	for k := range n {
		if !slices.Contains(rep.Merged.Shards, k) {
			rep.Merged.Missing = append(rep.Merged.Missing, k)
		}
	}
	if len(rep.Merged.Missing) > 0 {
		// The missing shards' items were never accounted for.
		for i := range rep.Loaders {
			rep.Loaders[i].NotStarted = -1
		}
	}
	// Each shard's run saw the outages of the one Redis: in time order,
	// each naming its shard, as many as one run keeps.
	slices.SortStableFunc(rep.Outages, func(a, b Outage) int { return a.Start.Compare(b.Start) })
	if len(rep.Outages) > maxRecorded {
		rep.OutagesMore += len(rep.Outages) - maxRecorded
		rep.Outages = rep.Outages[:maxRecorded]
	}
	rep.Stopped = strings.Join(stopped, "; ")
	rep.Topology = strings.Join(topologies, "; ")
	rep.Seconds = float64(end.Sub(rep.Started).Milliseconds()) / 1000
	m.Report = rep
}

// addLoader adds shard k's totals of a loader to the merged ones.
// Latencies cannot be added up: the merged p50 and p95 are the slowest
// shard's.
func addLoader(ml *LoaderReport, l *LoaderTotals, k int) {
	ml.Fulfilled += l.Fulfilled
	ml.Warm += l.Warm
	ml.Rejected += l.Rejected
	ml.RejectedAtSource += l.RejectedAtSource
	ml.FulfilledBefore += l.FulfilledBefore
	if l.NotStarted < 0 || ml.NotStarted < 0 {
		ml.NotStarted = -1
	} else {
		ml.NotStarted += l.NotStarted
	}
	ml.P50ms = max(ml.P50ms, l.P50ms)
	ml.P95ms = max(ml.P95ms, l.P95ms)
	if l.Error != "" {
		ml.Error = joinNonEmpty(ml.Error, "shard "+strconv.Itoa(k)+": "+l.Error)
	}
	if l.Resume != nil {
		ml.Resumes = append(ml.Resumes, ShardResume{Shard: k, Resume: *l.Resume})
	}
	ml.Causes = mergeCauses(ml.Causes, l.Causes)
	if r := l.TTL; r != nil {
		if ml.TTL == nil {
			ml.TTL = &TTLRange{MinMs: r.MinMs, MaxMs: r.MaxMs}
		}
		ml.TTL.MinMs, ml.TTL.MaxMs = min(ml.TTL.MinMs, r.MinMs), max(ml.TTL.MaxMs, r.MaxMs)
	}
	if v := l.Verify; v != nil {
		if ml.Verify == nil {
			ml.Verify = &VerifyCounts{}
		}
		mv := ml.Verify
		mv.add(*v)
		if v.Note != "" {
			mv.Note = joinNonEmpty(mv.Note, "shard "+strconv.Itoa(k)+": "+v.Note)
		}
	}
}

// mergeVerify adds one shard's verify totals to the merged ones (first
// says sr is the first shard added). The merge is complete only when
// every shard verified completely. The shards write to one Redis, so
// its evictions are the most any shard saw, not their sum.
func mergeVerify(into, sr *VerifyReport, first bool) *VerifyReport {
	if first {
		if sr == nil {
			return nil
		}
		v := *sr
		return &v
	}
	if into == nil || sr == nil {
		// A shard that did not verify leaves the whole unverified.
		if into != nil {
			into.Complete = false
		}
		return into
	}
	into.Checked += sr.Checked
	into.Failed += sr.Failed
	into.Complete = into.Complete && sr.Complete
	into.Seconds = max(into.Seconds, sr.Seconds)
	if sr.Evicted == nil || into.Evicted == nil {
		into.Evicted = nil
	} else if *sr.Evicted > *into.Evicted {
		n := *sr.Evicted
		into.Evicted = &n
	}
	return into
}

// mergeCauses adds one shard's top causes to the merged ones, most
// frequent first. A cause outside a shard's top list is not counted: the
// merged counts are at least, not exactly, those.
func mergeCauses(into, more []CauseCount) []CauseCount {
	for _, c := range more {
		i := slices.IndexFunc(into, func(m CauseCount) bool { return m.Cause == c.Cause })
		if i < 0 {
			into = append(into, c)
			continue
		}
		into[i].Count += c.Count
	}
	slices.SortStableFunc(into, func(a, b CauseCount) int { return cmp.Compare(b.Count, a.Count) })
	return into[:min(len(into), maxCauses)]
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Encode writes the merged report, the shards' rejected items streamed
// from their files one at a time, shard by shard.
func (m *Merge) Encode(w io.Writer) error {
	return encodeReport(w, m.Report, func(i int, yield func(Rejection) error) error {
		for s, rf := range m.shards {
			var stop error
			var readErr error
			for r := range rf.rejected(m.index[i][s], &readErr) {
				if stop = yield(r); stop != nil {
					break
				}
			}
			if stop != nil {
				return stop
			}
			if readErr != nil {
				return readErr
			}
		}
		return nil
	})
}

// Write writes the merged report to path atomically.
func (m *Merge) Write(path string) error {
	return writeAtomic(path, m.Encode)
}
