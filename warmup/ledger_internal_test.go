package warmup

import (
	"testing"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// TestLowWaterMark checks the ledger's resume mark alone: it stands
// before the oldest unsettled item, whatever order items settle in, and
// past the last item read once all have settled.
func TestLowWaterMark(t *testing.T) {
	at := func(n int64) source.Resume { return source.Resume{Next: n} }
	var w lowWater
	w.start(at(0))
	for i := int64(1); i <= 5; i++ {
		if seq := w.read(at(i)); seq != i {
			t.Fatalf("item %d got seq %d", i, seq)
		}
	}
	steps := []struct {
		settle  int64
		seq     int64
		next    int64
		pending int
	}{
		{settle: 2, seq: 1, next: 0, pending: 4}, // item 1 still out: the mark stays before it
		{settle: 1, seq: 3, next: 2, pending: 3}, // 1 and 2 settled: before item 3
		{settle: 5, seq: 3, next: 2, pending: 2},
		{settle: 4, seq: 3, next: 2, pending: 1},
		{settle: 3, seq: 6, next: 5, pending: 0}, // all settled: after the last read
		{settle: 3, seq: 6, next: 5, pending: 0}, // settling twice changes nothing
	}
	for _, s := range steps {
		w.settle(s.settle)
		seq, a := w.mark()
		if seq != s.seq || a.Next != s.next || w.inFlight() != s.pending {
			t.Fatalf("after settling %d: mark seq %d at %d, %d in flight; want %d at %d, %d", s.settle, seq, a.Next, w.inFlight(), s.seq, s.next, s.pending)
		}
	}
}

// TestLedgerInvariant checks read = fulfilled + rejected + in flight
// through first-pass settles, a retry taking rejections back and putting
// some back, with the rejections kept in a journal and not in memory.
func TestLedgerInvariant(t *testing.T) {
	lr := &loaderRun{cfg: &config.Loader{Name: "a"}}
	e := &Engine{cfg: &config.Config{}, loaders: []*loaderRun{lr}}
	e.openLedger()
	defer e.closeLedger()
	check := func(when string, inFlight int64) {
		t.Helper()
		lr.mu.Lock()
		defer lr.mu.Unlock()
		if lr.read != lr.fulfilled+lr.rejected+inFlight {
			t.Fatalf("%s: read %d != fulfilled %d + rejected %d + in flight %d", when, lr.read, lr.fulfilled, lr.rejected, inFlight)
		}
	}
	lr.window.start(source.Resume{})
	items := make([]*item, 1500)
	for i := range items {
		lr.mu.Lock()
		items[i] = &item{lr: lr, seq: lr.readLocked(source.Resume{Next: int64(i + 1)})}
		lr.mu.Unlock()
	}
	check("all read", 1500)
	for i, x := range items {
		lr.mu.Lock()
		if i%3 == 0 {
			lr.fulfilled++
		} else {
			lr.addRejectionLocked(Rejection{Key: "k", Reason: "boom", Cause: "boom", Stage: StageFetch}, x.seq, false)
		}
		lr.settledLocked(x)
		lr.mu.Unlock()
	}
	check("all settled", 0)
	if n := len(lr.store.recent); n > maxRecent {
		t.Fatalf("%d rejections in memory, want at most %d", n, maxRecent)
	}
	take := lr.takeRetryable("")
	if take == nil || take.left != 1000 {
		t.Fatalf("took %v, want 1000", take)
	}
	check("taken", 1000)
	var err error
	n := 0
	for range lr.store.view().all(&err) {
		n++
	}
	if n != 0 || err != nil {
		t.Fatalf("store holds %d after taking all (err %v)", n, err)
	}
	// Half settle rejected again, the rest are put back by a stop.
	for range 500 {
		r, seq, ok := take.take()
		if !ok {
			t.Fatal("retry ended early")
		}
		lr.mu.Lock()
		lr.addRejectionLocked(r, seq, true)
		lr.retryingDoneLocked(1)
		lr.mu.Unlock()
	}
	take.finish(e, true)
	check("retry stopped", 0)
	n = 0
	for range lr.store.view().all(&err) {
		n++
	}
	if n != 1000 || lr.rejected != 1000 || lr.retrying != 0 {
		t.Fatalf("after the retry: %d in the journal, %d rejected, %d retrying; want 1000, 1000, 0", n, lr.rejected, lr.retrying)
	}
}

// One item hanging while a hundred thousand behind it settle costs the
// window no more than a constant: the mark stays before the hung item,
// and moves to the end once it settles.
func TestLowWaterStaysSmallBehindAHungItem(t *testing.T) {
	var w lowWater
	w.start(source.Resume{Next: 0})
	hung := w.read(source.Resume{Next: 1})
	for i := int64(2); i <= 100_000; i++ {
		w.settle(w.read(source.Resume{Next: i}))
	}
	if len(w.slots) > 2+lowWaterSlack {
		t.Fatalf("window holds %d slots behind one hung item", len(w.slots))
	}
	if seq, at := w.mark(); seq != hung || at.Next != 0 {
		t.Fatalf("mark (%d, %d), want the hung item's (%d, 0)", seq, at.Next, hung)
	}
	w.settle(hung)
	if seq, at := w.mark(); seq != 100_001 || at.Next != 100_000 || w.inFlight() != 0 {
		t.Fatalf("mark (%d, %d) with %d in flight after the hung item settled, want (100001, 100000) and 0", seq, at.Next, w.inFlight())
	}
}

// A window that never empties (items always in flight, settling in
// order) keeps its size too.
func TestLowWaterStaysSmallWhileAlwaysBusy(t *testing.T) {
	var w lowWater
	w.start(source.Resume{})
	prev := w.read(source.Resume{Next: 1})
	for i := int64(2); i <= 100_000; i++ {
		seq := w.read(source.Resume{Next: i})
		w.settle(prev)
		prev = seq
	}
	if cap(w.slots) > 4*lowWaterSlack {
		t.Fatalf("window's array holds %d slots with one item in flight", cap(w.slots))
	}
}
