package warmup

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cachewarm/cachewarm/internal/ctxsleep"
	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/fetch"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// item is one item on its way to being settled, exactly once.
type item struct {
	lr       *loaderRun
	src      source.Item
	key, url string
	// value is what is written: the fetched body, or the item itself,
	// or the value template's output.
	value []byte
	// fields are a hash loader's field and value pairs, from value.
	fields   []string
	fetched  bool
	attempts int
	// retry marks an item of a Retry pass: it counts in lr.retrying.
	retry bool
	// seq is the item's read sequence number in its loader (0: not read
	// from the source by this run); a first or resume pass's item is in
	// the loader's low-water window until it settles.
	seq int64
	// start is when the current attempt began.
	start time.Time
	// since is when x went in flight; older and newer link the loader's
	// items in flight in that order (under lr.mu), so that a snapshot
	// reads the oldest one's age in O(1).
	since        time.Time
	older, newer *item
	// queued says x waits for its loader's rate limit, its origin's
	// adaptive limit or a fetch slot (under lr.mu): counted in
	// lr.queued, out of the list of items in flight, so that a paced
	// loader's queue neither reads as work under way nor hides how old
	// the oldest real fetch is.
	queued bool
	// last is the latest failed attempt's error.
	last *itemError
	// history are the latest failed attempts (see Rejection.History):
	// allocated only for an item that fails.
	history []Attempt
	// outages counts the Redis outages x waited out.
	outages int
	// tries counts the attempts of this pass: each pass (the first, a
	// retry, --retry-from) has run.retries + 1 of them; attempts counts
	// them all, for the report.
	tries int
	// holdsBody says x holds a unit of the run's bound on fetched bodies
	// (fetching, or fetched and waiting for its write).
	holdsBody bool
	// checked says the check before fetching (mode missing or expiring)
	// found the key cold: x is to be fetched and written.
	checked bool
	// checkCounted says the check began the attempt that the fetch or
	// write now continues: begun counts it once.
	checkCounted bool
	// holdsAhead says x holds a unit of its loader's bound on items
	// checked and not yet fetching.
	holdsAhead bool
	// ticket is x's place under its origin's adaptive limit while it
	// fetches (fetch.adaptive); the zero Ticket otherwise.
	ticket  fetch.Ticket
	op      rediswrite.Op
	settled atomic.Bool
}

// newItem is a zeroed item for lr, recycled when it can be: a bulk load
// settles a million of them, and each is done with once settled
// (rejections keep copies of what they need).
func (e *Engine) newItem(lr *loaderRun, it source.Item) *item {
	return e.newItemRead(lr, it, nil)
}

// newItemRead is newItem for an item just read from the loader's source,
// which then stands at after (nil: an item not read from the source):
// counted read and numbered for the journal's marks with the same lock
// that puts it in flight.
func (e *Engine) newItemRead(lr *loaderRun, it source.Item, after *source.Resume) *item {
	x, _ := e.items.Get().(*item)
	if x == nil {
		x = new(item)
	}
	x.lr, x.src = lr, it
	x.since = time.Now()
	lr.mu.Lock()
	if after != nil {
		x.seq = lr.readLocked(*after)
	}
	lr.enterFlightLocked(x)
	lr.mu.Unlock()
	return x
}

// paced says the loader's items may wait before their attempt starts:
// for its rate limit, or (fetching) for its origin's limit or a slot.
func (lr *loaderRun) paced() bool { return lr.limiter != nil || lr.cfg.Fetch != nil }

// queue takes x out of flight while it waits for its loader's pace
// again (a retry's next attempt); begin puts it back as its attempt
// starts, at the young end, its age counted from now. Only retries
// queue: a first attempt waits on its feeder, one item at a time, and
// taking the lock twice more for each of a bulk load's items would cost
// more than that one item tells.
func (lr *loaderRun) queue(x *item) {
	if !lr.paced() {
		return
	}
	lr.mu.Lock()
	if !x.queued {
		lr.leaveFlightLocked(x)
		x.queued = true
		lr.queued++
	}
	lr.mu.Unlock()
}

// begin puts x, which waited for its pace, in flight: its fetch, check
// or write starts now. Only x's own goroutine sets x.queued, so it reads
// it without the lock.
func (lr *loaderRun) begin(x *item) {
	if !x.queued {
		return
	}
	lr.mu.Lock()
	if x.queued {
		x.queued = false
		lr.queued--
		x.since = time.Now()
		lr.enterFlightLocked(x)
	}
	lr.mu.Unlock()
}

// enterFlightLocked puts x, just read, at the young end of the loader's
// items in flight, with lr.mu held.
func (lr *loaderRun) enterFlightLocked(x *item) {
	x.older, x.newer = lr.youngest, nil
	if lr.youngest != nil {
		lr.youngest.newer = x
	} else {
		lr.oldest = x
	}
	lr.youngest = x
}

// leaveFlightLocked takes x, settled, out of the loader's items in
// flight (or waiting for its pace), with lr.mu held.
func (lr *loaderRun) leaveFlightLocked(x *item) {
	if x.queued {
		x.queued = false
		lr.queued--
		return
	}
	if x.older != nil {
		x.older.newer = x.newer
	} else if lr.oldest == x {
		lr.oldest = x.newer
	}
	if x.newer != nil {
		x.newer.older = x.older
	} else if lr.youngest == x {
		lr.youngest = x.older
	}
	x.older, x.newer = nil, nil
}

// startItem prepares x and starts its first attempt. It runs on the
// feeder, so waiting here (for a fetch slot or the rate limit) holds the
// feeder back: the origin's pace sets the source's.
func (e *Engine) startItem(x *item) {
	e.busyAdd(1)
	defer e.recoverItem(x)
	if !e.prepare(x) {
		return
	}
	e.attempt(x, e.goFetch)
}

// attempt starts x's next attempt: the check of its key when its mode
// asks for one, a fetch, run by fetch once a fetch slot is taken, or the
// write of the value x already has, once the rate limit allows. An item
// the run stopped waiting for is rejected "interrupted".
func (e *Engine) attempt(x *item, fetch func(*item)) {
	if x.needsCheck() {
		if !e.acquireAhead(x) {
			e.reject(x, interruptedAfter(x.last))
			return
		}
		x.lr.begin(x)
		x.begun()
		e.submit(x)
		return
	}
	if x.needsFetch() {
		if !e.acquireFetch(x) {
			e.reject(x, interruptedAfter(x.last))
			return
		}
		x.lr.begin(x)
		fetch(x)
		return
	}
	if !e.waitRate(x.lr) {
		e.reject(x, interruptedAfter(x.last))
		return
	}
	x.lr.begin(x)
	x.releaseAhead()
	e.write(x)
}

func (x *item) needsFetch() bool { return x.lr.cfg.Fetch != nil && !x.fetched }

// prepare renders the key (and URL); it rejects the item and returns false
// when that fails.
func (e *Engine) prepare(x *item) bool {
	var ie *itemError
	// A sharded run rendered the key already, to place the item.
	if x.key, x.url, ie = target(x.lr.cfg, x.lr.hosts, &x.src, x.key); ie != nil {
		e.reject(x, ie)
		return false
	}
	if x.lr.cfg.Fetch != nil {
		return true
	}
	x.value = x.src.StringValue()
	return e.shape(x)
}

// target is where an item goes: its key (key, when a sharded run
// rendered it already, else rendered now) and, for a loader that
// fetches, its URL, its host checked against hosts. It is the one path
// from an item to its key and URL, for the run and --dry-run alike; a
// failure is the item's rejection.
func target(l *config.Loader, hosts *fetch.Hosts, it *source.Item, key string) (string, string, *itemError) {
	if it.Err != nil {
		return "", "", atSource(it, it.Err.Error())
	}
	if key == "" {
		var ie *itemError
		if key, ie = renderFor(l.Key, it, StageKey, "key template"); ie != nil {
			return "", "", ie
		}
	}
	if key == "" {
		return "", "", failure(StageKey, "key template", "rendered an empty key")
	}
	if l.Fetch == nil {
		return key, "", nil
	}
	url, ie := renderFor(l.Fetch.URL, it, StageURL, "url template")
	if ie != nil {
		return "", "", ie
	}
	if ie := checkHost(hosts, url); ie != nil {
		return "", "", ie
	}
	return key, url, nil
}

// renderFor renders t over the item; a failure is at the source when the
// item itself does not decode, else at stage.
func renderFor(t *config.Template, it *source.Item, stage Stage, what string) (string, *itemError) {
	s, failedAt, err := renderItem(t, it)
	switch {
	case err == nil:
		return s, nil
	case failedAt == StageSource:
		return "", atSource(it, withWhere(it, err.Error()))
	}
	return "", failure(stage, what, err.Error())
}

// atSource is the failure of an item its source could not give: msg
// starts with the item's position, which the cause leaves out.
func atSource(it *source.Item, msg string) *itemError {
	cause := msg
	if w := it.Where(); w != "" {
		cause = strings.TrimPrefix(msg, w+": ")
	}
	if ie := (*source.ItemError)(nil); errors.As(it.Err, &ie) {
		cause = ie.Err.Error()
	}
	return &itemError{stage: StageSource, msg: msg, cause: cause}
}

func withWhere(it *source.Item, msg string) string {
	if w := it.Where(); w != "" {
		return w + ": " + msg
	}
	return msg
}

// renderItem renders t over the item: from its raw JSON when the fast
// path is sure, else over the decoded item. A decoding failure is the
// source's (StageSource).
func renderItem(t *config.Template, it *source.Item) (string, Stage, error) {
	if it.Exact() {
		var buf [128]byte
		if out, ok := t.RenderRaw(it.Raw, buf[:0]); ok {
			return string(out), "", nil
		}
	}
	v, err := it.Value()
	if err != nil {
		return "", StageSource, err
	}
	var b strings.Builder
	s, err := t.Execute(v, &b)
	return s, "", err
}

// acquireFetch waits for the loader's rate limit, then takes a fetch
// slot, the loader's, its origin's when it adapts, and the shared one;
// false when the run was stopped. The rate limit and the origin's come
// first so that a loader held back never sits on shared slots other
// loaders could use. x is in flight all the while: a stop rejects it
// "interrupted", as a stop does an item waiting for any slot.
func (e *Engine) acquireFetch(x *item) bool {
	lr := x.lr
	if !x.holdsBody {
		if e.bodies.Acquire(e.stopCtx, 1) != nil {
			return false
		}
		x.holdsBody = true
	}
	if !e.waitRate(lr) {
		return false
	}
	if lr.sem != nil {
		if lr.sem.Acquire(e.stopCtx, 1) != nil {
			return false
		}
	}
	if e.origins != nil && lr.cfg.Fetch.Adaptive {
		o := e.origins.For(x.url)
		lr.origin.Store(o)
		t, err := o.Acquire(e.stopCtx)
		if err != nil {
			if lr.sem != nil {
				lr.sem.Release(1)
			}
			return false
		}
		x.ticket = t
	}
	if e.slots.Acquire(e.stopCtx, 1) != nil {
		e.releaseOrigin(x, fetch.Quiet, 0)
		if lr.sem != nil {
			lr.sem.Release(1)
		}
		return false
	}
	x.releaseAhead()
	return true
}

// releaseFetch gives back the slots acquireFetch took, telling x's
// origin's limit what its answer said (s) and how long it took.
func (e *Engine) releaseFetch(x *item, s fetch.Signal, took time.Duration) {
	e.slots.Release(1)
	e.releaseOrigin(x, s, took)
	if x.lr.sem != nil {
		x.lr.sem.Release(1)
	}
}

func (e *Engine) releaseOrigin(x *item, s fetch.Signal, took time.Duration) {
	x.ticket.Release(s, took)
	x.ticket = fetch.Ticket{}
}

// waitRate waits for the loader's rate limit; false when the run was
// stopped.
func (e *Engine) waitRate(lr *loaderRun) bool {
	if lr.limiter == nil {
		return e.stopCtx.Err() == nil
	}
	return lr.limiter.Wait(e.stopCtx) == nil
}

// fetchAttempt runs one attempt of a fetching item, holding the fetch
// slot acquireFetch took until the body is in; its write follows.
func (e *Engine) fetchAttempt(x *item) {
	defer e.recoverItem(x)
	body, ferr := e.fetchHeld(x)
	if ferr != nil {
		// The writer's classifier reads the same sentinel as Interrupted.
		if errors.Is(ferr, context.Canceled) {
			e.reject(x, interruptedAfter(x.last))
			return
		}
		e.failed(x, fetchFailure(x.url, ferr))
		return
	}
	x.value, x.fetched = body, true
	if !e.shape(x) {
		return
	}
	e.submit(x)
}

// fetchHeld fetches x's URL, bounded by run.timeout (the fetch client's),
// and gives back its fetch slot, even if the fetch panics.
func (e *Engine) fetchHeld(x *item) ([]byte, *fetch.Error) {
	// A panic says nothing about the origin.
	sig, took := fetch.Quiet, time.Duration(0)
	defer func() { e.releaseFetch(x, sig, took) }()
	x.begun()
	f := x.lr.cfg.Fetch
	body, ferr := e.fetch.Get(e.hardCtx, fetch.Request{URL: x.url, Headers: f.Headers, Private: f.Private, Hosts: x.lr.hosts, AllowEmpty: f.AllowEmpty})
	took = time.Since(x.start)
	x.lr.fetchHist.observe(took, 1)
	sig = fetch.SignalOf(ferr)
	return body, ferr
}

// goFetch runs x's fetch on an idle fetch goroutine, or a new one. A
// fetch goroutine waits a moment for the next item before it ends: a
// fetch needs a deep stack (net/http), and growing a new goroutine's
// stack for every item costs more than handing the item over.
func (e *Engine) goFetch(x *item) {
	select {
	case e.fetchq <- x:
	default:
		go e.fetcher(x)
	}
}

// fetcherIdle is how long a fetch goroutine waits for another item.
const fetcherIdle = time.Second

func (e *Engine) fetcher(x *item) {
	idle := time.NewTimer(fetcherIdle)
	defer idle.Stop()
	for {
		e.fetchAttempt(x)
		idle.Reset(fetcherIdle)
		select {
		case x = <-e.fetchq:
		case <-idle.C:
			return
		case <-e.closeCtx.Done():
			return
		}
	}
}

// write starts a write-only attempt.
func (e *Engine) write(x *item) {
	x.begun()
	e.submit(x)
}

// begun counts an attempt and shows retries' attempt numbers. A fetch's
// latency runs from here; a write's is its pipeline's.
func (x *item) begun() {
	if x.checkCounted {
		x.checkCounted = false
	} else {
		x.lr.attempts.Add(1)
		x.attempts++
		x.tries++
	}
	if x.needsFetch() {
		x.start = time.Now()
	}
	if !x.retry {
		return
	}
	for {
		cur := x.lr.retryAttempt.Load()
		if int64(x.attempts) <= cur || x.lr.retryAttempt.CompareAndSwap(cur, int64(x.attempts)) {
			return
		}
	}
}

// submit hands x's next command, its check or its write, to the writer;
// written gets the outcome.
func (e *Engine) submit(x *item) {
	x.op = rediswrite.Op{Cmd: x.command(), Key: x.key, Tag: x}
	if !x.op.Cmd.IsCheck() {
		x.op.Value, x.op.Fields = x.value, x.fields
		x.op.TTL = x.lr.cfg.KeyTTL(x.key)
	}
	e.send(&x.op)
}

// written is the writer's report on one command: the reply to it, or why
// there was none.
func (e *Engine) written(op *rediswrite.Op, err error) {
	if t, ok := op.Tag.(checkTag); ok {
		t.b.answered(op, err)
		return
	}
	x := op.Tag.(*item)
	defer e.recoverItem(x)
	if op.Took > 0 && !op.Cmd.IsCheck() {
		x.lr.writeHist.observe(op.Took, 1)
	}
	switch rediswrite.Classify(err) {
	case rediswrite.OK:
		if op.Cmd.IsCheck() {
			e.afterCheck(x)
			return
		}
		e.fulfil(x, op.Warm)
	case rediswrite.Interrupted:
		e.reject(x, interruptedAfter(x.last))
	case rediswrite.Unavailable:
		x.last = e.writeFailure(op, err)
		e.gate.hold(x, err)
	default:
		e.failed(x, e.writeFailure(op, err))
	}
}

// failed is the one retry loop: a transient failure is tried again after
// a backoff, or the origin's Retry-After if longer, while attempts
// remain; anything else rejects the item.
func (e *Engine) failed(x *item, ie *itemError) {
	x.last = ie
	x.recordAttempt(ie)
	switch {
	case !ie.transient || x.tries >= 1+e.cfg.Run.Retries || e.hardCtx.Err() != nil:
		e.reject(x, ie)
	case e.stopCtx.Err() != nil:
		e.reject(x, interruptedAfter(x.last))
	default:
		go e.retryLater(x, retryDelay(e.backoff(x.tries), ie.retryAfter))
	}
}

// maxRetryAfter caps the wait an origin's Retry-After asks for: a
// waiting item holds its place in the run's bounds, and trying again
// after a minute costs at worst a rejection the user can retry later.
const maxRetryAfter = time.Minute

// retryDelay is the wait before the next attempt: the backoff, or the
// origin's Retry-After (capped) when that is longer.
func retryDelay(backoff, retryAfter time.Duration) time.Duration {
	return max(backoff, min(retryAfter, maxRetryAfter))
}

// retryLater waits d, then starts x's next attempt: the fetch again if it
// failed there, else the write of the value already fetched.
func (e *Engine) retryLater(x *item, d time.Duration) {
	defer e.recoverItem(x)
	if !e.sleep(d) {
		e.reject(x, interruptedAfter(x.last))
		return
	}
	// Already on a goroutine of its own: the fetch runs here. Until it
	// starts, x waits for its loader's pace with the others that do,
	// out of flight.
	x.lr.queue(x)
	e.attempt(x, e.fetchAttempt)
}

// maxBackoff caps the backoff's doubling: past it the shift would
// overflow to no wait at all, and a run.retries near the cap would
// hammer the origin.
const maxBackoff = time.Minute

// backoff is the delay before attempt+1: run.backoff doubling up to
// maxBackoff, with jitter of 50%..150%.
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.Run.Backoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, max(maxBackoff, e.cfg.Run.Backoff))
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d)
}

// sleep waits d unless the run is stopped; it reports whether to go on.
func (e *Engine) sleep(d time.Duration) bool { return ctxsleep.Sleep(e.stopCtx, d) }

// fulfil settles x as written, or as already warm: its key was there
// and was left alone. A warm item's latency is not a write's: it stays
// out of the histogram.
func (e *Engine) fulfil(x *item, warm bool) {
	if !x.settled.CompareAndSwap(false, true) {
		return
	}
	lr := x.lr
	if !warm {
		lr.hist.observe(x.lastAttempt(), 1)
	}
	lr.mu.Lock()
	lr.leaveFlightLocked(x)
	lr.fulfilled++
	if warm {
		lr.warm++
	}
	lr.settledLocked(x)
	lr.mu.Unlock()
	e.settle(x)
}

// lastAttempt is how long x's last attempt took: its fetch and write
// for a loader that fetches, else its write.
func (x *item) lastAttempt() time.Duration {
	if x.lr.cfg.Fetch != nil && !x.start.IsZero() {
		return time.Since(x.start)
	}
	return x.op.Took
}

// reject settles x as rejected with why.
func (e *Engine) reject(x *item, why *itemError) {
	if !x.settled.CompareAndSwap(false, true) {
		return
	}
	lr := x.lr
	if why.stage == StageFetch || why.stage == StageRedis {
		// A failed attempt counts in the latencies as a fulfilled one
		// does: five items timing out at 2 s must not leave p95 at
		// the fast items' 57 ms.
		lr.hist.observe(x.lastAttempt(), 1)
	}
	lr.rejectedTotal.Add(1)
	x.recordAttempt(why)
	r := e.rejection(&x.src, x.key, x.attempts, why)
	r.History = e.redactHistory(x.history)
	lr.mu.Lock()
	lr.leaveFlightLocked(x)
	lr.addRejectionLocked(r, x.seq, x.retry)
	lr.settledLocked(x)
	lr.telling++
	lr.mu.Unlock()
	// Told before the loader can be done (see telling): a reader of the
	// events must have every rejection by its loader_done.
	if e.opts.OnReject != nil {
		callback(func() { e.opts.OnReject(lr.cfg.Name, r) })
	}
	lr.mu.Lock()
	lr.telling--
	lr.mu.Unlock()
	e.settle(x)
}

// rejection is the record of it, whose key is key, rejected with why
// after attempts attempts, its secrets redacted.
func (e *Engine) rejection(it *source.Item, key string, attempts int, why *itemError) Rejection {
	secrets := e.cfg.Secrets()
	reason, cause := secrets.Redact(why.msg), secrets.Redact(why.cause)
	if strings.HasSuffix(reason, cause) {
		// The cause is kept as the end of the reason: one string for
		// both, for each of maybe a million rejections.
		cause = reason[len(reason)-len(cause):]
	}
	return Rejection{Item: source.ShownJSON(it.Raw), Key: secrets.Redact(key), Reason: reason, Cause: cause, Attempts: attempts,
		Stage: why.stage, Where: secrets.Redact(it.Where()), Exact: it.Lossless()}
}

// callback runs a caller's hook (a printer's). x is settled and recycled
// by then, so a panic in the hook must stop here: it cannot become any
// item's rejection.
func callback(f func()) {
	defer func() { _ = recover() }()
	f()
}

// settle gives back what x held: its unit of the budget, and its place in
// the run's work.
func (e *Engine) settle(x *item) {
	lr := x.lr
	if x.holdsBody {
		e.bodies.Release(1)
	}
	x.releaseAhead()
	*x = item{}
	e.items.Put(x)
	e.budget.Release(1)
	e.loaderMaybeDone(lr)
	e.busyDone()
}

// recoverItem turns a panic while handling x into x's rejection; the run
// goes on.
func (e *Engine) recoverItem(x *item) {
	if p := recover(); p != nil {
		msg := fmt.Sprintf("internal error: %v", p)
		e.reject(x, whole(StageInternal, msg))
	}
}

// loaderMaybeDone reports a loader done once: its source read to the end
// (or stopped) and every item it yielded settled.
func (e *Engine) loaderMaybeDone(lr *loaderRun) {
	if e.opts.OnLoaderDone == nil || lr.feeding.Load() > 0 {
		return
	}
	lr.mu.Lock()
	done := lr.resume != nil && lr.read == lr.fulfilled+lr.rejected && lr.telling == 0 && !lr.doneReported
	lr.doneReported = lr.doneReported || done
	lr.mu.Unlock()
	if done {
		ls := lr.snapshot()
		callback(func() { e.opts.OnLoaderDone(ls) })
	}
}
