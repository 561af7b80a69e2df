package warmup

import (
	"iter"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// A pass is one stream of items through the engine for one loader: the
// first read of its source, a retry of its rejected items (Retry), or the
// rejected items of an earlier report followed by the rest of its source
// (StartFrom). One feeder goroutine reads it.
type pass interface {
	// next returns the next item to start, or false at the end.
	next(e *Engine) (*item, bool)
	// finish records what the pass never read once it ends, early
	// (stopped) or not.
	finish(e *Engine, stopped bool)
}

type passKind int

const (
	passFirst passKind = iota
	passRetry
	passResume
)

// startFeed starts a feeder for p.
func (e *Engine) startFeed(lr *loaderRun, p pass, kind passKind) {
	e.busyAdd(1)
	lr.feeding.Add(1)
	if kind == passRetry {
		e.retryPasses.Add(1)
	}
	go e.feed(lr, p, kind)
}

// feed reads p until it ends or the run stops. Each item first takes a
// unit of the run's budget, so items read and unsettled stay bounded
// whatever the input; while Redis is unavailable nothing new is read.
func (e *Engine) feed(lr *loaderRun, p pass, kind passKind) {
	stopped := false
	for {
		if !e.gate.waitOpen(e.stopCtx) || e.budget.Acquire(e.stopCtx, 1) != nil {
			stopped = true
			break
		}
		if e.held() {
			// Redis stopped the run in a monitor: read nothing more
			// until Resume or Retry.
			e.budget.Release(1)
			stopped = true
			break
		}
		x, ok := p.next(e)
		if !ok {
			e.budget.Release(1)
			break
		}
		e.startItem(x)
	}
	p.finish(e, stopped)
	if kind == passRetry {
		e.retryPasses.Add(-1)
	}
	lr.feeding.Add(-1)
	e.loaderMaybeDone(lr)
	e.busyDone()
}

// firstPass reads a loader's source from its start (or, resumed, from a
// report's resume point).
type firstPass struct {
	lr  *loaderRun
	src source.Source
}

func (p *firstPass) next(e *Engine) (*item, bool) {
	return e.nextOwned(p.lr, p.src)
}

// nextOwned reads src on to the next item this process owns (every item
// when the run is not sharded). Another shard's items are not read as far
// as the ledger goes: that shard's ledger counts them.
func (e *Engine) nextOwned(lr *loaderRun, src source.Source) (*item, bool) {
	for {
		it, ok := src.Next()
		if !ok {
			return nil, false
		}
		key, owned := e.owns(lr, &it)
		if !owned {
			continue
		}
		at := src.Resume()
		x := e.newItemRead(lr, it, &at)
		x.key = key
		return x, true
	}
}

func (p *firstPass) finish(e *Engine, stopped bool) {
	lr := p.lr
	// A source that ended without an error was read to its end, but for
	// a stream the run stopped reading, or the rest of one that --retry-from
	// cannot read again; one that stopped early, or failed to read, says
	// where it stands, so that --retry-from reads on from there.
	at := p.src.Resume()
	err := p.src.Err()
	// A source that reads while the run stops (a sitemap download, a
	// query) may end on the stop itself: its own Resume then says where it
	// stands.
	stopped = stopped || e.stopCtx.Err() != nil
	if !stopped && err == nil && at.Kind != source.KindStream {
		at = source.Resume{Done: true}
	}
	if !at.Done && e.opts.Shard.N > 1 {
		// How many of the items left are this shard's, only reading
		// them would tell.
		at.Remaining = -1
	}
	lr.mu.Lock()
	if at.Done {
		lr.total.Store(lr.read)
	}
	lr.resume = &at
	if err != nil {
		lr.srcErr = e.cfg.Secrets().Redact(err.Error())
		lr.lastReason, lr.lastCause = lr.srcErr, lr.srcErr
	}
	lr.mu.Unlock()
	p.src.Close()
}

// rejectionSource is a Retry pass: earlier rejections of this run, those
// of a generation of the loader's store that match, streamed from the
// journal.
type rejectionSource struct {
	lr    *loaderRun
	pull  func() (Rejection, int64, bool)
	stop  func()
	match func(Rejection, int64) bool
	// left counts the items taken and not yet read.
	left int64
	err  error
}

func newRejectionSource(lr *loaderRun, v storeView, match func(Rejection, int64) bool, n int64) *rejectionSource {
	p := &rejectionSource{lr: lr, match: match, left: n}
	p.pull, p.stop = iter.Pull2(v.all(&p.err))
	return p
}

// take is the next rejection the pass took, or false at the end.
func (p *rejectionSource) take() (Rejection, int64, bool) {
	for p.left > 0 {
		r, seq, ok := p.pull()
		if !ok {
			return Rejection{}, 0, false
		}
		if p.match(r, seq) {
			p.left--
			return r, seq, true
		}
	}
	return Rejection{}, 0, false
}

// revive turns a rejection back into the item it was, exactly; an item
// that cannot be revived is rejected at the source with why.
func (lr *loaderRun) revive(r Rejection) source.Item {
	it, err := lr.reviver.Item(r.Item, r.Exact, r.Where)
	if err != nil {
		return source.Item{Raw: r.Item, File: r.Where, Err: err}
	}
	return it
}

func (p *rejectionSource) next(e *Engine) (*item, bool) {
	r, seq, ok := p.take()
	if !ok {
		return nil, false
	}
	x := e.newItem(p.lr, p.lr.revive(r))
	x.attempts, x.retry, x.seq = r.Attempts, true, seq
	x.history = r.History
	return x, true
}

// finish puts the rejections a stopped retry never reached back as they
// were. Should the journal fail to give back some of them, they stay
// counted rejected, with the journal's error as their reason.
func (p *rejectionSource) finish(_ *Engine, _ bool) {
	defer p.stop()
	lr := p.lr
	for {
		r, seq, ok := p.take()
		if !ok {
			break
		}
		lr.mu.Lock()
		lr.addRejectionLocked(r, seq, true)
		lr.retryingDoneLocked(1)
		lr.mu.Unlock()
	}
	if p.left > 0 {
		lr.mu.Lock()
		for ; p.left > 0; p.left-- {
			reason := "journal could not be read back"
			if p.err != nil {
				reason += ": " + p.err.Error()
			}
			lr.addRejectionLocked(Rejection{Reason: reason, Cause: reason, Stage: StageInternal}, 0, true)
			lr.retryingDoneLocked(1)
		}
		lr.mu.Unlock()
	}
}

// resumePass is a --retry-from pass: the rejected items an earlier report
// recorded, streamed from it, then the loader's source from the report's
// resume point.
type resumePass struct {
	lr     *loaderRun
	report *rejectedStream
	rest   source.Source
}

func (p *resumePass) next(e *Engine) (*item, bool) {
	for p.report != nil {
		r, ok := p.report.next()
		if !ok {
			p.closeReport()
			break
		}
		p.lr.countRead()
		if r.Stage == StageSource {
			// Reading the same bytes again cannot succeed: carried over.
			e.carry(p.lr, r)
			continue
		}
		x := e.newItem(p.lr, p.lr.revive(r))
		x.attempts = r.Attempts
		return x, true
	}
	return e.nextOwned(p.lr, p.rest)
}

func (p *resumePass) closeReport() {
	if err := p.report.err(); err != nil {
		p.lr.mu.Lock()
		p.lr.srcErr = err.Error()
		p.lr.mu.Unlock()
	}
	p.report.close()
	p.report = nil
}

// finish carries the report's unread rejections over unchanged when the
// run stopped before reaching them, and records where the source stands.
func (p *resumePass) finish(e *Engine, stopped bool) {
	if p.report != nil {
		for {
			r, ok := p.report.next()
			if !ok {
				break
			}
			p.lr.countRead()
			e.carry(p.lr, r)
		}
		p.closeReport()
	}
	(&firstPass{lr: p.lr, src: p.rest}).finish(e, stopped)
}

// carry records an earlier rejection as this run's, unchanged.
func (e *Engine) carry(lr *loaderRun, r Rejection) {
	lr.mu.Lock()
	lr.addRejectionLocked(r, 0, false)
	lr.mu.Unlock()
}

// takeRetryable moves the loader's retryable rejections with the given
// cause (any, when "") into a retry: they count as in flight until they
// settle again. The others move to the store's new generation unchanged.
// It reads the journal once here, and the retry pass reads it again.
func (lr *loaderRun) takeRetryable(cause string) *rejectionSource {
	lr.mu.Lock()
	was := lr.retrying
	lr.mu.Unlock()
	p := lr.takeMatching(func(r Rejection, _ int64) bool {
		return r.Stage != StageSource && (cause == "" || causeOf(r) == cause)
	})
	if p != nil {
		lr.mu.Lock()
		// One cause's retry alone names its cause; a mix names none.
		if was == 0 {
			lr.retryCause = cause
		} else if lr.retryCause != cause {
			lr.retryCause = ""
		}
		lr.mu.Unlock()
	}
	return p
}

// takeMatching is takeRetryable for the rejections match picks (given
// each with its journal sequence number).
func (lr *loaderRun) takeMatching(match func(Rejection, int64) bool) *rejectionSource {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if lr.rejected == 0 {
		return nil
	}
	// Rejections settle under mu: once the generation moves on, none is
	// added to the old one, whose records all lie before the view's end.
	old := lr.store.newGen(true)
	lastReason, lastCause := lr.srcErr, lr.srcErr
	var n int64
	var err error
	for r, seq := range old.all(&err) {
		if match(r, seq) {
			n++
			lr.tally(r, -1)
			continue
		}
		lr.store.keep(r, seq, true)
		lastReason, lastCause = r.Reason, causeOf(r)
	}
	if n == 0 {
		return nil
	}
	lr.retrying += n
	lr.rejected -= n
	lr.retryAttempt.Store(0)
	// The tile's latest reason must be one still standing.
	lr.lastReason, lr.lastCause = lastReason, lastCause
	return newRejectionSource(lr, old, match, n)
}
