package warmup

import (
	"cmp"
	"encoding/json"
	"iter"
	"slices"

	"github.com/cachewarm/cachewarm/warmup/journal"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// The ledger of a loader is its counts (read = fulfilled + rejected + in
// flight, under loaderRun.mu), its cause tallies and a few recent
// rejections in memory, and every rejection in the run's journal, where
// the report, a retry and a verify pass read them back one at a time.
// An item's phases, from source to settle:
//
//	read     newItemRead counts it, puts it in flight and gives it the
//	         loader's next sequence number; the low-water window holds the
//	         source's resume point before it;
//	attempt  item.go: check, fetch, write, retried run.retries times;
//	settle   fulfil or reject change the counts together; a rejection is
//	         appended to the journal (addRejectionLocked) before settle
//	         takes the item out of the window, so a mark never covers an
//	         item whose rejection is not in the journal before it.

// maxRecent bounds the rejections a loader keeps in memory, for the
// monitor's list and the report's summary; the journal holds them all.
const maxRecent = 1000

// rejectionStore is where a loader's rejections are, with loaderRun.mu
// held for its fields: the records of generation gen in the journal from
// offset start on, and any the journal failed to take.
type rejectionStore struct {
	idx   int
	jnl   *journal.Journal
	gen   int64
	start int64
	// overflow holds the rejections the journal could not take (a full
	// disk): the counts stay true, at the cost of memory.
	overflow []journaled
	// recent are the latest rejections, at most maxRecent.
	recent []Rejection
}

// journaled is a rejection with what the journal records beside it.
type journaled struct {
	r   Rejection
	seq int64
}

// keep appends r (read as item seq; retried says it came out of a retry
// pass or was put back by one) to the store, with loaderRun.mu held.
func (s *rejectionStore) keep(r Rejection, seq int64, retried bool) {
	if len(s.recent) == maxRecent {
		s.recent = slices.Delete(s.recent, 0, maxRecent/10)
	}
	r.Seq = seq
	s.recent = append(s.recent, r)
	if s.jnl == nil || s.append(r, seq, retried) != nil {
		s.overflow = append(s.overflow, journaled{r, seq})
	}
}

func (s *rejectionStore) append(r Rejection, seq int64, retried bool) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.jnl.Append(journal.Record{Kind: journal.KindReject, Loader: s.idx, Gen: s.gen, Seq: seq, Retry: retried, Rejection: b})
}

// newGen starts a new generation, with loaderRun.mu held: the store is
// then empty, and view says where the previous one's records are.
func (s *rejectionStore) newGen(from bool) storeView {
	v := s.view()
	s.gen, s.overflow, s.recent = 0, nil, nil
	if s.jnl != nil {
		s.gen = s.jnl.NewGen()
		s.start = s.jnl.Offset()
		fromGen := int64(0)
		if from {
			fromGen = v.gen
		}
		_ = s.jnl.Append(journal.Record{Kind: journal.KindGen, Loader: s.idx, Gen: s.gen, From: fromGen})
	}
	return v
}

// storeView is a generation's rejections as they stood: the journal's
// records between two offsets, and the overflow then.
type storeView struct {
	idx        int
	jnl        *journal.Journal
	gen        int64
	start, end int64
	overflow   []journaled
}

// view is the store as it stands, with loaderRun.mu held.
func (s *rejectionStore) view() storeView {
	v := storeView{idx: s.idx, jnl: s.jnl, gen: s.gen, start: s.start, overflow: slices.Clip(s.overflow)}
	if s.jnl != nil {
		v.end = s.jnl.Offset()
	}
	return v
}

// all yields the view's rejections in the order they were recorded, with
// their sequence numbers, reading the journal one record at a time; a
// read error ends it and is left in *errp.
func (v storeView) all(errp *error) iter.Seq2[Rejection, int64] {
	return func(yield func(Rejection, int64) bool) {
		if v.jnl != nil {
			stopped := false
			err := v.jnl.Scan(v.start, v.end, func(rec journal.Record) bool {
				if rec.Kind != journal.KindReject || rec.Loader != v.idx || rec.Gen != v.gen {
					return true
				}
				var r Rejection
				if err := json.Unmarshal(rec.Rejection, &r); err != nil {
					*errp = err
					return false
				}
				stopped = !yield(r, rec.Seq)
				return !stopped
			})
			if err != nil && errp != nil {
				*errp = err
			}
			if stopped || err != nil {
				return
			}
		}
		for _, o := range v.overflow {
			if !yield(o.r, o.seq) {
				return
			}
		}
	}
}

// lowWater is a loader's window of items read and not yet settled, in
// read order, for its journal marks: the source's resume point before
// the oldest of them is where a resumed run reads on from, all items
// before it being settled. Settled items behind an unsettled one are
// dropped as they pile up, so its size stays within twice the items in
// flight (the run's budget) and a constant, however long one item hangs
// while others settle.
type lowWater struct {
	// slots are in read order (seq ascending) from head on; the one at
	// head is unsettled.
	slots     []lowSlot
	head      int
	unsettled int
	// next is the sequence number the next item read gets (1-based);
	// after is the source's resume point after the last item read.
	next  int64
	after source.Resume
}

type lowSlot struct {
	seq     int64
	before  source.Resume
	settled bool
}

// lowWaterSlack is how many settled slots may wait behind an unsettled
// one before they are dropped.
const lowWaterSlack = 1024

// start sets where the loader's reading begins (its source's start, or
// a resume point).
func (w *lowWater) start(at source.Resume) { w.startAt(1, at) }

// startAt sets where a resumed loader's reading begins: item seq, the
// source standing at at.
func (w *lowWater) startAt(seq int64, at source.Resume) {
	*w = lowWater{next: seq, after: at}
}

// read records an item read, the source standing at after once it is,
// and returns the item's sequence number.
func (w *lowWater) read(after source.Resume) int64 {
	if w.next == 0 {
		w.start(source.Resume{})
	}
	seq := w.next
	w.slots = append(w.slots, lowSlot{seq: seq, before: w.after})
	w.unsettled++
	w.after = after
	w.next++
	return seq
}

// settle records item seq settled, moving the mark past every settled
// item at the window's start.
func (w *lowWater) settle(seq int64) {
	open := w.slots[w.head:]
	if len(open) == 0 {
		return
	}
	// Until settled slots behind an unsettled one are dropped, the
	// window holds every seq from its head on: the slot is found at once.
	i, found := int(seq-open[0].seq), false
	if i >= 0 && i < len(open) && open[i].seq == seq {
		found = true
	} else {
		i, found = slices.BinarySearchFunc(open, seq, func(s lowSlot, seq int64) int { return cmp.Compare(s.seq, seq) })
	}
	if !found || open[i].settled {
		return
	}
	open[i].settled = true
	w.unsettled--
	for w.head < len(w.slots) && w.slots[w.head].settled {
		w.slots[w.head] = lowSlot{}
		w.head++
	}
	switch {
	case w.head == len(w.slots):
		w.slots, w.head = w.slots[:0], 0
	case w.head > lowWaterSlack && w.head > len(w.slots)/2, len(w.slots)-w.head > 2*w.unsettled+lowWaterSlack:
		// The slots before head are done with, and of those after it
		// only the unsettled ones matter to a mark.
		kept := w.slots[:0]
		for _, s := range w.slots[w.head:] {
			if !s.settled {
				kept = append(kept, s)
			}
		}
		clear(w.slots[len(kept):])
		w.slots, w.head = kept, 0
	}
}

// mark is the low-water mark: every item before seq is settled, and the
// source reads on from at.
func (w *lowWater) mark() (seq int64, at source.Resume) {
	if w.next == 0 {
		return 1, source.Resume{}
	}
	if w.head < len(w.slots) {
		return w.slots[w.head].seq, w.slots[w.head].before
	}
	return w.next, w.after
}

// inFlight counts the items read and not settled.
func (w *lowWater) inFlight() int { return w.unsettled }

// settledLocked takes settled x out of the loader's retries or its
// low-water window, with lr.mu held.
func (lr *loaderRun) settledLocked(x *item) {
	if x.retry {
		lr.retryingDoneLocked(1)
		return
	}
	if x.seq > 0 {
		lr.window.settle(x.seq)
	}
}

// retryingDoneLocked counts n retried items settled (or put back), with
// lr.mu held; once none is left, the journal says so, for a resumed run
// to know that no retry of this loader was cut short.
func (lr *loaderRun) retryingDoneLocked(n int64) {
	lr.retrying -= n
	if lr.retrying == 0 && lr.store.jnl != nil {
		_ = lr.store.jnl.Append(journal.Record{Kind: journal.KindRetried, Loader: lr.store.idx, Gen: lr.store.gen})
	}
}
