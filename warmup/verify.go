package warmup

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachewarm/cachewarm/internal/ctxsleep"
	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// StageVerify is the stage of an item whose key the verify pass did not
// find as written.
const StageVerify Stage = "verify"

// The causes of the items the verify pass rejects.
const (
	causeMissing   = "missing after write"
	causeWrongType = "wrong type"
	causeNoTTL     = "no TTL"
	causeLongTTL   = "TTL above the loader's ttl"
)

// checkKeys is how many keys one check Op reads (two commands each, in
// the pipeline: see rediswrite.CmdVerify).
const checkKeys = 500

// verifyTally counts one loader's verify pass; it is reset when a pass
// starts and read by snapshots while it runs.
type verifyTally struct {
	checked, missing, wrongType, noTTL, longTTL, unverified atomic.Int64
	// note says what the pass could not do ("stdin cannot be read
	// again"), or "".
	note atomic.Pointer[string]
}

func (t *verifyTally) reset() {
	for _, n := range []*atomic.Int64{&t.checked, &t.missing, &t.wrongType, &t.noTTL, &t.longTTL, &t.unverified} {
		n.Store(0)
	}
	t.note.Store(nil)
}

func (t *verifyTally) setNote(s string) { t.note.Store(&s) }

// counts copies the tally.
func (t *verifyTally) counts() VerifyCounts {
	c := VerifyCounts{Checked: t.checked.Load(), Missing: t.missing.Load(), WrongType: t.wrongType.Load(),
		NoTTL: t.noTTL.Load(), LongTTL: t.longTTL.Load(), Unverified: t.unverified.Load()}
	if p := t.note.Load(); p != nil {
		c.Note = *p
	}
	return c
}

// VerifyCounts are what a verify pass found for one loader's keys.
type VerifyCounts struct {
	// Checked counts the keys read back; the others count the ones found
	// wrong, each now a rejected item.
	Checked   int64 `json:"checked"`
	Missing   int64 `json:"missing,omitempty"`
	WrongType int64 `json:"wrong_type,omitempty"`
	NoTTL     int64 `json:"no_ttl,omitempty"`
	LongTTL   int64 `json:"ttl_too_long,omitempty"`
	// Unverified counts the keys whose check failed (Redis did not
	// answer): they stay fulfilled, as Redis said when they were written.
	Unverified int64 `json:"unverified,omitempty"`
	// Note says what could not be verified and why, or "".
	Note string `json:"note,omitempty"`
}

// Failed counts the keys found wrong.
func (c VerifyCounts) Failed() int64 { return c.Missing + c.WrongType + c.NoTTL + c.LongTTL }

// add adds o's counts to c's (not its note).
func (c *VerifyCounts) add(o VerifyCounts) {
	c.Checked += o.Checked
	c.Missing += o.Missing
	c.WrongType += o.WrongType
	c.NoTTL += o.NoTTL
	c.LongTTL += o.LongTTL
	c.Unverified += o.Unverified
}

// VerifyState is the run's verify pass as a snapshot sees it.
type VerifyState struct {
	// Running is true while keys are being checked.
	Running bool
	// Checked counts the keys checked so far, of Total (the items
	// fulfilled when the pass started); Failed those found wrong.
	Checked, Total, Failed int64
	// Complete is true once a pass checked every fulfilled item it could.
	Complete bool
	// Evicted counts the keys Redis evicted between the run's start and
	// the end of the last pass, -1 when unknown (not yet read, or Redis
	// restarted in between).
	Evicted int64
	// Took is how long the last (or the running) pass has taken.
	Took time.Duration
}

// verifyRun is the engine's verify state: whether a pass is due (the run
// settled items since the last one), running, and what the last found.
type verifyRun struct {
	due      atomic.Bool
	running  atomic.Bool
	complete atomic.Bool
	total    atomic.Int64
	// evictedAtStart is evicted_keys when the run started, -1 unknown;
	// evicted the increase at the end of the last pass, -1 unknown.
	evictedAtStart, evicted atomic.Int64
	// started and ended are when the last pass started and ended (unix
	// nanoseconds; ended 0 while it runs).
	started, ended atomic.Int64
}

// verifyState reads the verify state for a snapshot.
func (e *Engine) verifyState(loaders []LoaderSnapshot) *VerifyState {
	if !e.opts.Verify {
		return nil
	}
	v := &VerifyState{Running: e.verify.running.Load(), Total: e.verify.total.Load(),
		Complete: e.verify.complete.Load(), Evicted: e.verify.evicted.Load()}
	if start := e.verify.started.Load(); start != 0 {
		end := e.verify.ended.Load()
		if end == 0 {
			end = time.Now().UnixNano()
		}
		v.Took = time.Duration(end - start)
	}
	for _, l := range loaders {
		if l.Verify != nil {
			v.Checked += l.Verify.Checked
			v.Failed += l.Verify.Failed()
		}
	}
	return v
}

// evictedKeys reads the server's evicted_keys, -1 when it cannot.
func (e *Engine) evictedKeys() int64 {
	if e.rdb == nil {
		return -1
	}
	ctx, cancel := context.WithTimeout(e.hardCtx, e.cfg.Run.Timeout)
	defer cancel()
	n, err := e.rdb.EvictedKeys(ctx)
	if err != nil {
		return -1
	}
	return n
}

// startVerifyIfDue starts a verify pass when the run has just settled
// (busy dropped to 0) and settled items since the last pass. It counts
// the pass as work before the caller's busyDone lets Wait return.
func (e *Engine) startVerifyIfDue() bool {
	if !e.opts.Verify || e.w == nil || e.stopCtx.Err() != nil || e.held() || !e.verify.due.CompareAndSwap(true, false) {
		return false
	}
	e.busyAdd(1)
	go e.verifyAll()
	return true
}

// verifyAll checks every loader's fulfilled keys, all loaders at once,
// then reads how many keys Redis evicted since the run started.
func (e *Engine) verifyAll() {
	defer e.busyDone()
	e.verify.ended.Store(0)
	e.verify.started.Store(time.Now().UnixNano())
	defer func() { e.verify.ended.Store(time.Now().UnixNano()) }()
	e.verify.complete.Store(false)
	var total int64
	for _, lr := range e.loaders {
		lr.verify.reset()
		lr.mu.Lock()
		total += lr.fulfilled
		if lr.prior != nil {
			total += lr.fulfilledBefore
		}
		lr.mu.Unlock()
	}
	e.verify.total.Store(total)
	e.verify.running.Store(true)
	if e.opts.OnVerify != nil {
		callback(e.opts.OnVerify)
	}
	defer e.verify.running.Store(false)
	// A pass that gives up on Redis gives up for every loader: waiting
	// run.redis_wait again for each batch would hold the run for hours.
	ctx, abort := context.WithCancel(e.stopCtx)
	defer abort()
	var wg sync.WaitGroup
	for _, lr := range e.loaders {
		wg.Go(func() { e.verifyLoader(ctx, abort, lr, verifyKeys) })
	}
	wg.Wait()
	if start, now := e.verify.evictedAtStart.Load(), e.evictedKeys(); start >= 0 && now >= start {
		e.verify.evicted.Store(now - start)
	} else {
		e.verify.evicted.Store(-1)
	}
	unverified := false
	for _, lr := range e.loaders {
		unverified = unverified || lr.verify.unverified.Load() > 0
	}
	e.verify.complete.Store(ctx.Err() == nil && !unverified)
}

// checkKind is what a pass over a loader's keys looks for: --verify's
// every difference from what was written, or a restart check's missing
// keys only.
type checkKind struct {
	// name says what the pass is in its notes ("verify").
	name string
	// tally is the loader's count of this kind of pass.
	tally func(*loaderRun) *verifyTally
	// problem is what is wrong with a key a check coded as code, or "".
	problem func(code int64, l *config.Loader) string
	// why is the failure of an item whose key has that problem.
	why func(key, cause string) *itemError
	// mustProve says keys the pass could not read at all (a stream, a
	// file gone) count as unverified: they are in doubt, not merely
	// unchecked.
	mustProve bool
}

// verifyKeys is --verify's pass.
var verifyKeys = checkKind{
	name:    "verify",
	tally:   func(lr *loaderRun) *verifyTally { return &lr.verify },
	problem: keyProblem,
	why:     func(key, cause string) *itemError { return failure(StageVerify, "verify "+key, cause) },
}

// verifyLoader reads lr's items again, as far as this run read them, and
// checks the key of each one that is not rejected (and, when inDoubt is
// set, that it names). It holds no more than the batches in flight: the
// keys come from the source, not from memory.
func (e *Engine) verifyLoader(ctx context.Context, abort func(), lr *loaderRun, kind checkKind, inDoubt ...func(key string) bool) {
	tally := kind.tally(lr)
	defer func() {
		if p := recover(); p != nil {
			tally.setNote(fmt.Sprintf("%s stopped: internal error: %v", kind.name, p))
		}
	}()
	if !lr.cfg.Items.Rereadable() {
		tally.setNote(lr.cfg.Items.Describe() + " is a stream, which cannot be read again: its keys were not checked")
		if kind.mustProve {
			tally.unverified.Add(1)
		}
		return
	}
	lr.mu.Lock()
	rejected := lr.store.view()
	end := lr.resume
	lr.mu.Unlock()
	skip := rejectedKeys(rejected)
	if end == nil {
		return
	}
	v := &verifier{e: e, ctx: ctx, abort: abort, lr: lr, kind: kind, tally: tally, skip: skip, batches: make(chan *checkBatch)}
	if len(inDoubt) > 0 {
		v.inDoubt = inDoubt[0]
	}
	if lr.prior != nil {
		// A --retry-from run checks the earlier runs' keys too: they may
		// be gone since, and the earlier pass may not have finished (a
		// stop, Redis gone). It reads the source from its start, which
		// holds the retried items as well.
		v.whole = true
		v.retried = retriedKeys(lr.prior())
	}
	var wg sync.WaitGroup
	// Twice the writer's pipelines: while one batch's replies are judged,
	// another is in Redis.
	for range 2 * e.w.Pipelines() {
		wg.Go(v.work)
	}
	defer func() {
		close(v.batches)
		wg.Wait()
	}()
	v.readSource(*end)
	v.flush()
}

// rejectedKeys are the keys of the rejected items v holds, as their
// rejections record them (secrets redacted), read from the journal. A
// key the journal cannot give back is checked like the others.
func rejectedKeys(v storeView) map[string]struct{} {
	skip := map[string]struct{}{}
	var err error
	for r := range v.all(&err) {
		skip[r.Key] = struct{}{}
	}
	return skip
}

// verifier is one loader's verify pass: a reader that gathers keys into
// batches, and workers that check them.
type verifier struct {
	e *Engine
	// ctx ends when the run stops or the pass gives up (abort).
	ctx   context.Context
	abort func()
	lr    *loaderRun
	kind  checkKind
	tally *verifyTally
	// inDoubt, when set, names the keys to check; the others are not.
	inDoubt func(key string) bool
	skip    map[string]struct{}
	// whole says the pass reads the source from its start, and retried
	// names the items this --retry-from run took from the earlier report.
	whole   bool
	retried map[string]struct{}
	batch   *checkBatch
	batches chan *checkBatch
}

// retriedKeys are the keys of the earlier report's items a --retry-from
// run retried, as the report records them (secrets redacted): those of
// them it fulfilled are its own, not the earlier runs'.
func retriedKeys(s *rejectedStream) map[string]struct{} {
	defer s.close()
	keys := map[string]struct{}{}
	for {
		r, ok := s.next()
		if !ok {
			return keys
		}
		if r.Stage != StageSource {
			keys[r.Key] = struct{}{}
		}
	}
}

// readSource queues the items of lr's source from where this run began
// reading it (a --retry-from run: from its start) up to where it stopped.
func (v *verifier) readSource(end source.Resume) {
	from := v.lr.readFrom
	if v.whole {
		from = nil
	}
	src, err := source.OpenContext(v.ctx, v.lr.cfg.Items, from)
	if err != nil {
		v.tally.setNote("not checked: " + v.e.cfg.Secrets().Redact(err.Error()))
		if v.kind.mustProve {
			v.tally.unverified.Add(1)
		}
		return
	}
	defer src.Close()
	for v.ctx.Err() == nil && !reached(src.Resume(), end, v.lr.cfg.Items) {
		earlier := v.whole && !reached(src.Resume(), *v.lr.readFrom, v.lr.cfg.Items)
		it, ok := src.Next()
		if !ok {
			return
		}
		if key, owned := v.e.owns(v.lr, &it); owned {
			v.add(it, key, earlier)
		}
	}
}

// reached says whether a source standing at cur has come to end, where
// the run's reading of it stopped: a file's byte offset, a list's index,
// a range's next value. A source the run read to its end has no such
// point.
func reached(cur, end source.Resume, spec source.Spec) bool { return spec.Reached(cur, end) }

// add queues it for a check unless it was rejected (its key then names a
// rejection) or gives no key. key is its key when placing it in a shard
// rendered it already. earlier says it comes before where this run began
// reading: unless this run retried it, an earlier run fulfilled it.
func (v *verifier) add(it source.Item, key string, earlier bool) {
	if it.Err != nil {
		return
	}
	if key == "" {
		var err error
		if key, _, err = renderItem(v.lr.cfg.Key, &it); err != nil || key == "" {
			return
		}
	}
	if v.inDoubt != nil && !v.inDoubt(key) {
		return
	}
	if len(v.skip) > 0 || earlier {
		shown := v.e.cfg.Secrets().Redact(key)
		if _, rejected := v.skip[shown]; rejected {
			return
		}
		if _, ok := v.retried[shown]; ok {
			earlier = false
		}
	}
	if v.batch == nil {
		v.batch = &checkBatch{}
	}
	v.batch.items = append(v.batch.items, it)
	v.batch.before = append(v.batch.before, earlier)
	v.batch.keys = append(v.batch.keys, key)
	if len(v.batch.keys) >= v.e.w.BatchKeys() {
		v.flush()
	}
}

// flush hands the batch being gathered to a worker, once the run's budget
// has room for its keys; when the run stops first, its keys go unchecked.
func (v *verifier) flush() {
	b := v.batch
	v.batch = nil
	if b == nil {
		return
	}
	if v.e.budget.Acquire(v.ctx, int64(len(b.keys))) != nil {
		return
	}
	v.batches <- b
}

// work checks batches until there are no more.
func (v *verifier) work() {
	for b := range v.batches {
		v.checkSafely(b)
		v.e.budget.Release(int64(len(b.keys)))
	}
}

// checkSafely is check, with a panic leaving the batch's keys unverified
// instead of ending the process.
func (v *verifier) checkSafely(b *checkBatch) {
	defer func() {
		if p := recover(); p != nil {
			v.tally.unverified.Add(int64(len(b.keys)))
			v.tally.setNote(fmt.Sprintf("some keys not checked: internal error: %v", p))
		}
	}()
	v.check(b)
}

// checkBatch is a batch of keys being checked: one check Op per
// checkKeys keys.
type checkBatch struct {
	items []source.Item
	// before says, per item, that an earlier run fulfilled it.
	before []bool
	keys   []string
	ops    []rediswrite.Op
	errs   []error
	left   atomic.Int32
	done   chan struct{}
}

// answered records one op's outcome (a writer goroutine calls it).
func (b *checkBatch) answered(op *rediswrite.Op, err error) {
	b.errs[op.Tag.(checkTag).i] = err
	if b.left.Add(-1) == 0 {
		close(b.done)
	}
}

// checkTag ties an op to its batch.
type checkTag struct {
	b *checkBatch
	i int
}

// check sends b's checks, retrying those that fail while attempts
// remain, and settles what they found.
func (v *verifier) check(b *checkBatch) {
	b.ops = v.checkOps(b.keys)
	b.errs = make([]error, len(b.ops))
	pending := make([]int, len(b.ops))
	for i := range pending {
		pending[i] = i
	}
	var since time.Time
	for attempt := 1; ; attempt++ {
		if v.ctx.Err() != nil {
			v.giveUp(b, pending, context.Canceled)
			return
		}
		v.send(b, pending)
		var err error
		pending, err = v.found(b, pending)
		if len(pending) == 0 {
			return
		}
		if since.IsZero() {
			since = time.Now()
		}
		if !v.tryAgain(err, attempt, since) {
			v.giveUp(b, pending, err)
			return
		}
	}
}

// checkOps splits keys into check commands.
func (v *verifier) checkOps(keys []string) []rediswrite.Op {
	per := checkKeys
	typ := []byte(expectedType(v.lr.cfg))
	ops := make([]rediswrite.Op, 0, (len(keys)+per-1)/per)
	for len(keys) > 0 {
		n := min(per, len(keys))
		ops = append(ops, rediswrite.Op{Cmd: rediswrite.CmdVerify, Keys: keys[:n:n], Value: typ})
		keys = keys[n:]
	}
	return ops
}

// send submits the ops of b numbered in pending and waits for their
// replies.
func (v *verifier) send(b *checkBatch, pending []int) {
	b.done = make(chan struct{})
	b.left.Store(int32(len(pending)))
	for _, i := range pending {
		b.ops[i].Tag = checkTag{b, i}
		b.ops[i].Codes = nil
		b.errs[i] = nil
		v.e.send(&b.ops[i])
	}
	<-b.done
}

// found settles the keys of the ops that were answered, and returns the
// ops still to check with the last error.
func (v *verifier) found(b *checkBatch, pending []int) ([]int, error) {
	var again []int
	var last error
	base := 0
	starts := make([]int, len(b.ops))
	for i := range b.ops {
		starts[i] = base
		base += len(b.ops[i].Keys)
	}
	for _, i := range pending {
		if err := b.errs[i]; err != nil {
			again, last = append(again, i), err
			continue
		}
		for j, code := range b.ops[i].Codes {
			v.judge(&b.items[starts[i]+j], b.before[starts[i]+j], b.ops[i].Keys[j], code)
		}
	}
	return again, last
}

// judge settles one key's check: a key as written stays fulfilled;
// another moves its item from fulfilled to rejected, for a retry.
func (v *verifier) judge(it *source.Item, before bool, key string, code int64) {
	t := v.tally
	t.checked.Add(1)
	cause := v.kind.problem(code, v.lr.cfg)
	switch cause {
	case "":
		return
	case causeMissing, causeLost:
		t.missing.Add(1)
	case causeWrongType:
		t.wrongType.Add(1)
	case causeNoTTL:
		t.noTTL.Add(1)
	case causeLongTTL:
		t.longTTL.Add(1)
	}
	v.e.unfulfil(v.lr, it, before, key, v.kind.why(key, cause))
}

// expectedType is the type TYPE names for a loader's keys.
func expectedType(l *config.Loader) string {
	if l.Type == "" {
		return "string"
	}
	return l.Type
}

// keyProblem is what is wrong with a key of loader l that a check coded
// as code, or "" when it is as expected. In modes "missing" and
// "expiring" a key the run left alone holds what the application wrote,
// with its own type and TTL, and the verify cannot tell it from one the
// run wrote: only its absence is wrong.
func keyProblem(code int64, l *config.Loader) string {
	if l.Mode == config.ModeMissing || l.Mode == config.ModeExpiring {
		if code == rediswrite.CheckMissing {
			return causeMissing
		}
		return ""
	}
	// A key's TTL was drawn up to ttl_jitter above the ttl (KeyTTL).
	_, longest := l.TTLRange()
	return ttlProblem(code, longest)
}

// ttlProblem is what is wrong with a key a check coded as code, for a
// loader writing with ttl (0: no expiry), or "" when it is as written.
func ttlProblem(code int64, ttl time.Duration) string {
	switch {
	case code == rediswrite.CheckMissing:
		return causeMissing
	case code == rediswrite.CheckWrongType:
		return causeWrongType
	case ttl == 0:
		return ""
	case code == rediswrite.CheckNoTTL:
		return causeNoTTL
	case time.Duration(code)*time.Millisecond > ttl:
		return causeLongTTL
	}
	return ""
}

// tryAgain says whether to send failed checks again, after waiting: while
// Redis is unavailable, up to run.redis_wait; after other failures, while
// the run's retries last.
func (v *verifier) tryAgain(err error, attempt int, since time.Time) bool {
	run := v.e.cfg.Run
	switch rediswrite.Classify(err) {
	case rediswrite.Interrupted, rediswrite.Reject:
		return false
	case rediswrite.Unavailable:
		if time.Since(since) >= run.RedisWait {
			return false
		}
	default:
		if attempt > run.Retries {
			return false
		}
	}
	return ctxsleep.Sleep(v.ctx, min(v.e.backoff(min(attempt, 8)), 5*time.Second))
}

// giveUp leaves the keys of the ops in pending unverified: still
// fulfilled, as Redis said when they were written.
func (v *verifier) giveUp(b *checkBatch, pending []int, err error) {
	var n int64
	for _, i := range pending {
		n += int64(len(b.ops[i].Keys))
	}
	v.tally.unverified.Add(n)
	switch rediswrite.Classify(err) {
	case rediswrite.Interrupted:
	case rediswrite.Unavailable:
		v.tally.setNote(v.kind.name + " stopped: " + v.e.redisCause(err))
		v.abort()
	default:
		v.tally.setNote("some keys not checked: " + v.e.redisCause(err))
	}
}

// unfulfil moves an item the run counted fulfilled to rejected with why:
// its key is not in Redis as written. The counts move together, under
// the ledger's lock; an item is never taken from a count that has none.
func (e *Engine) unfulfil(lr *loaderRun, it *source.Item, before bool, key string, why *itemError) {
	r := e.rejection(it, key, 0, why)
	lr.mu.Lock()
	count := &lr.fulfilled
	if before {
		count = &lr.fulfilledBefore
	}
	if *count == 0 {
		lr.mu.Unlock()
		return
	}
	*count--
	// The counters only go up: the item counts as a rejection now, and
	// stays counted as a fulfilment of this run (see Counters, which
	// reads fulfilled and demoted together, under mu).
	if !before {
		lr.demoted++
	}
	lr.addRejectionLocked(r, 0, false)
	lr.mu.Unlock()
	lr.rejectedTotal.Add(1)
	// A key lost in a restart is written again at once: not a rejection
	// to announce.
	if e.opts.OnReject != nil && why.cause != causeLost {
		callback(func() { e.opts.OnReject(lr.cfg.Name, r) })
	}
}

// verifyFellShort says whether --verify was asked for and its last pass
// could not check every key it had to (Redis failed it): the keys are
// not proven there. A stream that cannot be read again is not counted:
// its note says so, and no run could do better.
func (e *Engine) verifyFellShort() bool {
	if !e.opts.Verify {
		return false
	}
	for _, lr := range e.loaders {
		if lr.verify.unverified.Load() > 0 {
			return true
		}
	}
	return false
}
