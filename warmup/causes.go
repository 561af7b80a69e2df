package warmup

import (
	"cmp"
	"slices"
)

// CauseCount is how many of a loader's rejected items share a cause.
type CauseCount struct {
	Cause string `json:"cause"`
	// Stage is the step the items failed in; items rejected at the
	// source are not retried.
	Stage Stage `json:"stage"`
	Count int64 `json:"count"`
	// Example is one such item's detail ("GET /products/10"), or its key
	// or position when the reason has no detail.
	Example string `json:"example,omitempty"`
}

// maxCauses bounds the causes a snapshot or a report lists per loader,
// the most frequent first; the rest of the rejected items are in
// Rejected and not in any listed cause.
const maxCauses = 10

// causeTally is one cause's count in a loader's ledger, with one of its
// rejections as the example.
type causeTally struct {
	n       int64
	example Rejection
}

// causeOf is the cause a rejection groups under.
func causeOf(r Rejection) string {
	if r.Cause != "" {
		return r.Cause
	}
	return deriveCause(r)
}

// example names one item of a cause for the cause summaries.
func example(r Rejection) string {
	if d := r.Detail(); d != "" {
		return d
	}
	if d := interruptedDetail(r); d != "" {
		return d
	}
	if r.Key != "" {
		return r.Key
	}
	if r.Where != "" {
		return r.Where
	}
	return string(r.Item)
}

// addRejectionLocked records r as rejected, with lr.mu held: counted,
// kept (in the journal, as item seq; retried says a retry settled or put
// it back), and tallied under its cause.
func (lr *loaderRun) addRejectionLocked(r Rejection, seq int64, retried bool) {
	lr.store.keep(r, seq, retried)
	if r.Stage == StageSource {
		lr.atSource++
	}
	lr.rejected++
	lr.lastReason, lr.lastCause = r.Reason, causeOf(r)
	lr.tally(r, 1)
}

// tally adds d to r's cause, with lr.mu held; a cause whose count drops
// to 0 is forgotten.
func (lr *loaderRun) tally(r Rejection, d int64) {
	c := causeOf(r)
	if lr.causes == nil {
		lr.causes = map[string]*causeTally{}
	}
	t := lr.causes[c]
	if t == nil {
		if d <= 0 {
			return
		}
		t = &causeTally{example: r}
		lr.causes[c] = t
	}
	t.n += d
	if t.n <= 0 {
		delete(lr.causes, c)
	}
}

// topCausesLocked lists the most frequent causes, with lr.mu held. It
// costs O(distinct causes), not O(rejections).
func (lr *loaderRun) topCausesLocked() []CauseCount {
	if len(lr.causes) == 0 {
		return nil
	}
	out := make([]CauseCount, 0, len(lr.causes))
	for c, t := range lr.causes {
		out = append(out, CauseCount{Cause: c, Stage: t.example.Stage, Count: t.n})
	}
	slices.SortFunc(out, func(a, b CauseCount) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return cmp.Compare(a.Cause, b.Cause)
	})
	out = out[:min(len(out), maxCauses)]
	for i := range out {
		out[i].Example = example(lr.causes[out[i].Cause].example)
	}
	return out
}
