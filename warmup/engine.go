package warmup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// Options tune an engine beyond its config.
type Options struct {
	// Demo marks the run as a demo (embedded Redis or simulated origin).
	Demo bool
	// OnReject, when set, is called once for every rejected item, from
	// the worker that settled it.
	OnReject func(loader string, r Rejection)
	// OnLoaderDone, when set, is called once per loader when its first
	// pass has settled every item.
	OnLoaderDone func(LoaderSnapshot)
	// Writers is the number of pipelining writer goroutines for fetched
	// values (default 2).
	Writers int
	// UserAgent is sent with every fetch unless a loader's headers set
	// one (default "cachewarm").
	UserAgent string
}

// Engine runs loaders into Redis and keeps every item's outcome.
// All methods are safe for concurrent use.
type Engine struct {
	cfg   *Config
	opts  Options
	fetch *fetcher
	rdb   *redis.Client
	w     *writer
	sem   *semaphore.Weighted

	loaders []*loaderRun
	byName  map[string]*loaderRun

	// stopCtx ends when no new item or attempt may start.
	stopCtx context.Context
	stop    context.CancelFunc
	// hardCtx ends in-flight attempts at once (a second interrupt).
	hardCtx context.Context
	kill    context.CancelFunc
	// writersCtx ends the writer goroutines at Close.
	writersCancel context.CancelFunc
	writersDone   sync.WaitGroup

	passes      sync.WaitGroup
	active      atomic.Int32
	retryPasses atomic.Int32
	interrupted atomic.Bool
	started     time.Time
	endedAt     atomic.Int64 // unix nanos when the last pass ended, 0 while running

	snapMu  sync.Mutex
	samples []rateSample
}

type rateSample struct {
	at      time.Time
	settled []int64 // per loader, last is the total
}

// loaderRun is the live state of one loader.
type loaderRun struct {
	cfg    *Loader
	source string

	total        atomic.Int64
	read         atomic.Int64
	fulfilled    atomic.Int64
	rejected     atomic.Int64
	inflight     atomic.Int64
	retrying     atomic.Int64
	retryAttempt atomic.Int64
	sourceDone   atomic.Bool
	hist         histogram

	sem     *semaphore.Weighted
	limiter *rate.Limiter

	mu         sync.Mutex
	rejections []Rejection
	lastReason string
	srcErr     string
}

// New makes an engine writing through rdb. Call Start (or StartFrom),
// then Wait, then Close.
func New(cfg *Config, rdb *redis.Client, opts Options) *Engine {
	e := &Engine{cfg: cfg, opts: opts, byName: map[string]*loaderRun{}}
	e.sem = semaphore.NewWeighted(int64(cfg.Run.Concurrency))
	ua := opts.UserAgent
	if ua == "" {
		ua = "cachewarm"
	}
	e.fetch = newFetcher(cfg.Run.Concurrency, cfg.Run.Timeout, ua)
	e.stopCtx, e.stop = context.WithCancel(context.Background())
	e.hardCtx, e.kill = context.WithCancel(context.Background())
	for _, l := range cfg.Loaders {
		lr := &loaderRun{cfg: l, source: describeLoader(l)}
		lr.total.Store(-1)
		if l.Concurrency > 0 {
			lr.sem = semaphore.NewWeighted(int64(l.Concurrency))
		}
		if l.Rate > 0 {
			lr.limiter = rate.NewLimiter(rate.Limit(l.Rate), 1)
		}
		e.loaders = append(e.loaders, lr)
		e.byName[l.Name] = lr
	}
	e.rdb = rdb
	if rdb != nil {
		e.w = newWriter(e.hardCtx, rdb, cfg.Run.Timeout)
		n := opts.Writers
		if n <= 0 {
			n = 2
		}
		var wctx context.Context
		wctx, e.writersCancel = context.WithCancel(context.Background())
		for range n {
			e.writersDone.Add(1)
			go func() {
				defer e.writersDone.Done()
				e.w.run(wctx)
			}()
		}
	}
	return e
}

func describeLoader(l *Loader) string {
	s := l.Items.Describe()
	if l.Fetch != nil {
		host := "origin"
		if !strings.Contains(l.Fetch.URLText, "{{origin}}") {
			host = hostOf(l.Fetch.URLText)
		}
		s += " → " + host
	}
	return s
}

func hostOf(tmpl string) string {
	s := tmpl
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// Start runs every loader's source at once, in the background.
func (e *Engine) Start() {
	e.started = time.Now()
	for _, lr := range e.loaders {
		src, err := OpenSource(lr.cfg.Items)
		if err != nil {
			// The file vanished between validation and start.
			lr.mu.Lock()
			lr.srcErr = err.Error()
			lr.lastReason = err.Error()
			lr.mu.Unlock()
			lr.total.Store(0)
			lr.sourceDone.Store(true)
			continue
		}
		lr.total.Store(src.Total())
		e.startPass(lr, src, false)
	}
	if e.active.Load() == 0 {
		e.endedAt.Store(time.Now().UnixNano())
	}
}

// StartFrom runs only the retryable rejected items recorded in an earlier
// report, for the loaders of this config that the report names. Items
// rejected at their source are carried over as they were.
func (e *Engine) StartFrom(rep *Report) error {
	for _, l := range rep.Loaders {
		if _, ok := e.byName[l.Name]; !ok {
			return fmt.Errorf("report names loader %q, which is not in %s", l.Name, e.cfg.Path)
		}
	}
	e.started = time.Now()
	for _, lr := range e.loaders {
		var items []Item
		var carried []Rejection
		for _, l := range rep.Loaders {
			if l.Name != lr.cfg.Name {
				continue
			}
			for _, r := range l.RejectedItems {
				if r.Stage == StageSource {
					carried = append(carried, r)
					continue
				}
				items = append(items, Item{Raw: compactJSON(r.Item), Attempts: r.Attempts, File: r.Where})
			}
		}
		lr.total.Store(int64(len(items) + len(carried)))
		lr.read.Add(int64(len(carried)))
		for _, r := range carried {
			e.settleRejected(lr, r, false)
		}
		e.startPass(lr, &sliceSource{items: items}, false)
	}
	if e.active.Load() == 0 {
		e.endedAt.Store(time.Now().UnixNano())
	}
	return nil
}

func compactJSON(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil || b.Len() == 0 {
		return []byte(raw)
	}
	return b.Bytes()
}

// Retry feeds the retryable rejected items of the named loaders (all when
// none are named) back through the pipeline, in the background. It
// returns how many items it queued; fulfilled items are never touched.
func (e *Engine) Retry(loaders ...string) int {
	if e.stopCtx.Err() != nil {
		return 0
	}
	targets := e.loaders
	if len(loaders) > 0 {
		targets = nil
		for _, n := range loaders {
			if lr, ok := e.byName[n]; ok {
				targets = append(targets, lr)
			}
		}
	}
	queued := 0
	for _, lr := range targets {
		lr.mu.Lock()
		var take, keep []Rejection
		for _, r := range lr.rejections {
			if r.Stage == StageSource {
				keep = append(keep, r)
			} else {
				take = append(take, r)
			}
		}
		if len(take) == 0 {
			lr.mu.Unlock()
			continue
		}
		lr.rejections = keep
		lr.rejected.Add(-int64(len(take)))
		lr.retrying.Add(int64(len(take)))
		lr.retryAttempt.Store(0)
		lr.mu.Unlock()
		items := make([]Item, len(take))
		for i := range take {
			r := take[i]
			items[i] = Item{Raw: r.Item, File: r.Where, Attempts: r.Attempts, prev: &r}
		}
		queued += len(items)
		e.startPass(lr, &sliceSource{items: items}, true)
	}
	return queued
}

// Stop stops taking new items and attempts; in-flight attempts settle
// (bounded by the timeout) and everything unfinished is rejected
// "interrupted".
func (e *Engine) Stop() {
	if e.stopCtx.Err() == nil {
		// Only a stop that cuts work short is an interruption; quitting
		// after everything settled is not.
		if e.active.Load() > 0 {
			e.interrupted.Store(true)
		}
		e.stop()
	}
}

// Stopped reports whether Stop (or Kill) was called.
func (e *Engine) Stopped() bool { return e.stopCtx.Err() != nil }

// InFlight counts the items being fetched or written right now.
func (e *Engine) InFlight() int64 {
	var n int64
	for _, lr := range e.loaders {
		n += lr.inflight.Load()
	}
	return n
}

// Kill ends in-flight attempts at once; they are rejected "interrupted".
func (e *Engine) Kill() {
	e.Stop()
	e.kill()
	e.fetch.abort()
}

// Interrupted reports whether Stop was called.
func (e *Engine) Interrupted() bool { return e.interrupted.Load() }

// Wait blocks until every pass has settled.
func (e *Engine) Wait() { e.passes.Wait() }

// Close stops the writers. Call it after Wait.
func (e *Engine) Close() {
	e.Kill()
	if e.writersCancel != nil {
		e.writersCancel()
		e.writersDone.Wait()
	}
}

func (e *Engine) startPass(lr *loaderRun, src Source, retry bool) {
	e.passes.Add(1)
	e.active.Add(1)
	e.endedAt.Store(0)
	if retry {
		e.retryPasses.Add(1)
	}
	go e.runPass(lr, src, retry)
}

// runPass drains src with a bounded set of workers. There is no goroutine
// per item: each worker takes the next item, settles it, and takes another.
func (e *Engine) runPass(lr *loaderRun, src Source, retry bool) {
	defer func() {
		if retry {
			e.retryPasses.Add(-1)
		}
		if e.active.Add(-1) == 0 {
			e.endedAt.Store(time.Now().UnixNano())
		}
		e.passes.Done()
	}()
	conc := e.cfg.Run.Concurrency
	if lr.cfg.Concurrency > 0 {
		conc = min(conc, lr.cfg.Concurrency)
	}
	if retry {
		e.awaitRedis()
	}
	var srcMu sync.Mutex
	var wg sync.WaitGroup
	if e.useBulk(lr) {
		workers, batch := bulkShape(conc)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.bulkWorker(lr, src, &srcMu, retry, batch)
			}()
		}
	} else {
		workers := conc
		if lr.cfg.Fetch != nil {
			// Twice the slots: while one worker's fetched body waits for
			// its pipelined write, another can fetch the next item.
			workers *= 2
		}
		if t := src.Total(); t >= 0 && t < int64(workers) {
			workers = max(int(t), 1)
		}
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.itemWorker(lr, src, &srcMu, retry)
			}()
		}
	}
	wg.Wait()
	if retry {
		// Items a stopped retry never reached keep their earlier outcome.
		for {
			it, ok := src.Next()
			if !ok {
				break
			}
			e.settleRejected(lr, *it.prev, true)
		}
	}
	if err := src.Err(); err != nil {
		lr.mu.Lock()
		lr.srcErr = e.cfg.secrets.Redact(err.Error())
		lr.lastReason = lr.srcErr
		lr.mu.Unlock()
	}
	src.Close()
	if !retry {
		lr.total.Store(lr.read.Load())
		lr.sourceDone.Store(true)
		if e.opts.OnLoaderDone != nil {
			e.opts.OnLoaderDone(e.loaderSnapshot(lr))
		}
	}
}

// itemWorker settles one item at a time until src is exhausted or the run
// stops.
func (e *Engine) itemWorker(lr *loaderRun, src Source, srcMu *sync.Mutex, retry bool) {
	ws := &workerState{done: make(chan error, 1)}
	for e.stopCtx.Err() == nil {
		srcMu.Lock()
		it, ok := src.Next()
		if ok && !retry {
			lr.read.Add(1)
		}
		srcMu.Unlock()
		if !ok {
			return
		}
		e.process(lr, &it, retry, ws)
	}
}

// awaitRedis gives a Redis that just came back a moment to answer before
// a retry pass starts: go-redis fails dials fast for about a second after
// a burst of refused ones. It waits at most the attempt timeout.
func (e *Engine) awaitRedis() {
	if e.rdb == nil {
		return
	}
	deadline := time.Now().Add(min(e.cfg.Run.Timeout, 3*time.Second))
	for {
		ctx, cancel := context.WithTimeout(e.stopCtx, time.Second)
		err := e.rdb.Ping(ctx).Err()
		cancel()
		if err == nil || e.stopCtx.Err() != nil || time.Now().After(deadline) {
			return
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-t.C:
		case <-e.stopCtx.Done():
			t.Stop()
			return
		}
	}
}

// workerState is reused across the items one worker handles.
type workerState struct {
	done chan error
	req  writeReq
	b    strings.Builder
	buf  []byte
}

// renderItem renders t (or its fast form) over the item.
func (ws *workerState) renderItem(t *template.Template, fast *fastTemplate, it *Item) (string, error) {
	if fast != nil && (!it.decoded || it.rawExact) {
		out, ok := fast.render(it.Raw, ws.buf[:0])
		ws.buf = out
		if ok {
			return string(out), nil
		}
	}
	v, err := it.Value()
	if err != nil {
		return "", &itemError{stage: StageSource, msg: err.Error()}
	}
	return render(t, v, &ws.b)
}

// itemRun is one item on its way to being settled, exactly once.
type itemRun struct {
	e        *Engine
	lr       *loaderRun
	it       *Item
	retry    bool
	key, url string
	value    []byte
	attempts int
	settled  bool
	// last is the latest failed attempt's error, on the bulk path.
	last *itemError
}

func (r *itemRun) reject(stage Stage, reason string) {
	if r.settled {
		return
	}
	r.settled = true
	r.e.settleRejected(r.lr, Rejection{Item: r.it.Raw, Key: r.key, Reason: reason, Attempts: r.attempts,
		Stage: stage, Where: r.it.Where()}, r.retry)
}

func (r *itemRun) fulfil() {
	r.settled = true
	r.lr.fulfilled.Add(1)
	if r.retry {
		r.lr.retrying.Add(-1)
	}
}

// recover turns a panic into the item's rejection.
func (r *itemRun) recover(p any) {
	if p != nil {
		r.reject(StageInternal, fmt.Sprintf("internal error: %v", p))
	}
}

// started counts an attempt, and shows retries' attempt numbers.
func (r *itemRun) started() {
	r.attempts++
	if !r.retry {
		return
	}
	for {
		cur := r.lr.retryAttempt.Load()
		if int64(r.attempts) <= cur || r.lr.retryAttempt.CompareAndSwap(cur, int64(r.attempts)) {
			return
		}
	}
}

// prepare renders the key (and URL); it rejects the item and returns false
// when that fails.
func (r *itemRun) prepare(ws *workerState) bool {
	it := r.it
	if it.Err != nil {
		r.reject(StageSource, it.Err.Error())
		return false
	}
	sourceErr := func(err error) bool {
		ie, ok := err.(*itemError)
		if !ok || ie.stage != StageSource {
			return false
		}
		reason := ie.msg
		if w := it.Where(); w != "" {
			reason = w + ": " + reason
		}
		r.reject(StageSource, reason)
		return true
	}
	var err error
	r.key, err = ws.renderItem(r.lr.cfg.Key, r.lr.cfg.keyFast, it)
	if sourceErr(err) {
		return false
	}
	if err != nil {
		r.reject(StageKey, "key template: "+err.Error())
		return false
	}
	if r.key == "" {
		r.reject(StageKey, "key template: rendered an empty key")
		return false
	}
	if f := r.lr.cfg.Fetch; f != nil {
		r.url, err = ws.renderItem(f.URL, f.urlFast, it)
		if sourceErr(err) {
			return false
		}
		if err != nil {
			r.reject(StageURL, "url template: "+err.Error())
			return false
		}
	}
	return true
}

// giveUp rejects an item whose attempts ended with last: "interrupted"
// when the run was stopped before a transient failure could be retried.
func (r *itemRun) giveUp(last *itemError) {
	if r.e.stopCtx.Err() != nil && (last == nil || last.transient) {
		r.reject(StageInterrupted, "interrupted")
		return
	}
	r.reject(last.stage, last.msg)
}

// process takes one item through key → fetch → write, with retries, and
// settles it exactly once.
func (e *Engine) process(lr *loaderRun, it *Item, retry bool, ws *workerState) {
	lr.inflight.Add(1)
	defer lr.inflight.Add(-1)
	r := &itemRun{e: e, lr: lr, it: it, retry: retry, attempts: it.Attempts}
	defer func() { r.recover(recover()) }()
	if !r.prepare(ws) {
		return
	}
	budget := 1 + e.cfg.Run.Retries
	var last *itemError
	for a := 0; a < budget; a++ {
		if a > 0 && !e.sleep(e.backoff(a)) {
			break
		}
		if !e.acquire(lr, 1) {
			break
		}
		r.started()
		start := time.Now()
		last = e.attemptHeld(lr, it, r.key, r.url, ws)
		if last == nil {
			lr.hist.observe(time.Since(start), 1)
			r.fulfil()
			return
		}
		if !last.transient || e.hardCtx.Err() != nil {
			break
		}
	}
	r.giveUp(last)
}

// attemptHeld runs one attempt and gives back the concurrency slots it
// holds, even if the attempt panics.
func (e *Engine) attemptHeld(lr *loaderRun, it *Item, key, url string, ws *workerState) *itemError {
	released := false
	release := func() {
		if !released {
			released = true
			e.release(lr, 1)
		}
	}
	defer release()
	return e.attempt(lr, it, key, url, ws, release)
}

// attempt is one try of fetch + write, bounded by the timeout: the fetch
// by its context, the write by the writer's pipeline deadline. Once the
// body is fetched it calls fetched, which gives the concurrency slot back:
// the slots bound what the origin sees, and the pipelined write needs none.
func (e *Engine) attempt(lr *loaderRun, it *Item, key, url string, ws *workerState, fetched func()) *itemError {
	var value []byte
	var ctx context.Context = e.hardCtx
	if lr.cfg.Fetch != nil {
		fctx, cancel := context.WithTimeout(e.hardCtx, e.cfg.Run.Timeout)
		defer cancel()
		body, ierr := e.fetch.get(fctx, url, lr.cfg.Fetch)
		if ierr != nil {
			ierr.msg = e.cfg.secrets.Redact(ierr.msg)
			return ierr
		}
		value = body
		ctx = fctx
		fetched()
	} else {
		value = it.StringValue()
	}
	ws.req = writeReq{key: key, value: value, ttl: lr.cfg.TTL, done: ws.done}
	fail := func(err error) *itemError { return e.writeFailure(ctx, key, err) }
	select {
	case e.w.reqs <- &ws.req:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	// The writer answers every request within its pipeline deadline.
	if err := <-ws.done; err != nil {
		return fail(err)
	}
	return nil
}

// writeFailure is why a SET of key failed: "redis SET key: cause".
func (e *Engine) writeFailure(ctx context.Context, key string, err error) *itemError {
	return &itemError{stage: StageRedis, transient: redisTransient(err),
		msg: e.cfg.secrets.Redact("redis SET " + key + ": " + describeRedisErr(ctx, err, e.cfg.Run.Timeout))}
}

func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.Run.Backoff << (attempt - 1)
	if d <= 0 {
		return 0
	}
	// Jitter: 50%..150% of the doubling delay.
	return d/2 + rand.N(d)
}

// sleep waits d unless the run is stopped; it reports whether to go on.
func (e *Engine) sleep(d time.Duration) bool {
	if d <= 0 {
		return e.stopCtx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.stopCtx.Done():
		return false
	}
}

// acquire waits for the loader's rate limit, then takes n concurrency
// slots, the loader's and the shared ones; false when the run was stopped.
// The rate limit comes first so that a rate-limited loader never sits on
// shared slots other loaders could use.
func (e *Engine) acquire(lr *loaderRun, n int) bool {
	if lr.limiter != nil {
		if err := lr.limiter.WaitN(e.stopCtx, n); err != nil {
			return false
		}
	}
	if lr.sem != nil {
		if err := lr.sem.Acquire(e.stopCtx, int64(n)); err != nil {
			return false
		}
	}
	if err := e.sem.Acquire(e.stopCtx, int64(n)); err != nil {
		if lr.sem != nil {
			lr.sem.Release(int64(n))
		}
		return false
	}
	return true
}

func (e *Engine) release(lr *loaderRun, n int) {
	e.sem.Release(int64(n))
	if lr.sem != nil {
		lr.sem.Release(int64(n))
	}
}

func (e *Engine) settleRejected(lr *loaderRun, r Rejection, retry bool) {
	r.Reason = e.cfg.secrets.Redact(r.Reason)
	r.Key = e.cfg.secrets.Redact(r.Key)
	lr.mu.Lock()
	lr.rejections = append(lr.rejections, r)
	lr.lastReason = r.Reason
	lr.mu.Unlock()
	lr.rejected.Add(1)
	if retry {
		lr.retrying.Add(-1)
	}
	if e.opts.OnReject != nil {
		e.opts.OnReject(lr.cfg.Name, r)
	}
}

// Rejections returns a copy of a loader's rejected items.
func (e *Engine) Rejections(loader string) []Rejection {
	lr, ok := e.byName[loader]
	if !ok {
		return nil
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return append([]Rejection(nil), lr.rejections...)
}

// Snapshot copies the counters. It costs O(loaders).
func (e *Engine) Snapshot() Snapshot {
	now := time.Now()
	s := Snapshot{
		Redis:   RedactURL(e.cfg.Redis.URL),
		Demo:    e.opts.Demo,
		Started: e.started,
		Loaders: make([]LoaderSnapshot, len(e.loaders)),
	}
	s.Stopped = e.Stopped()
	settled := make([]int64, len(e.loaders)+1)
	for i, lr := range e.loaders {
		ls := e.loaderSnapshot(lr)
		s.Loaders[i] = ls
		s.Fulfilled += ls.Fulfilled
		s.Rejected += ls.Rejected
		s.Pending += ls.Read - ls.Settled()
		if ls.Total > ls.Read {
			s.Pending += ls.Total - ls.Read
		}
		settled[i] = ls.Settled()
		settled[len(e.loaders)] += ls.Settled()
	}
	// Rates over the last ~3 seconds of snapshots.
	e.snapMu.Lock()
	e.samples = append(e.samples, rateSample{at: now, settled: settled})
	cut := 0
	for cut < len(e.samples)-2 && now.Sub(e.samples[cut+1].at) >= 3*time.Second {
		cut++
	}
	e.samples = e.samples[cut:]
	oldest := e.samples[0]
	e.snapMu.Unlock()
	if dt := now.Sub(oldest.at).Seconds(); dt > 0.2 {
		for i := range s.Loaders {
			s.Loaders[i].Rate = max(0, float64(settled[i]-oldest.settled[i])/dt)
		}
		s.Rate = max(0, float64(settled[len(e.loaders)]-oldest.settled[len(e.loaders)])/dt)
	}
	switch {
	case e.active.Load() == 0 && !e.started.IsZero():
		s.State = StateDone
	case e.stopCtx.Err() != nil:
		s.State = StateStopping
	case e.retryPasses.Load() > 0:
		s.State = StateRetrying
	default:
		s.State = StateRunning
	}
	if !e.started.IsZero() {
		end := now
		if t := e.endedAt.Load(); t != 0 {
			end = time.Unix(0, t)
		}
		s.Elapsed = end.Sub(e.started)
	}
	return s
}

func (e *Engine) loaderSnapshot(lr *loaderRun) LoaderSnapshot {
	// Read settled counts before read, so settled never exceeds read.
	f := lr.fulfilled.Load()
	r := lr.rejected.Load()
	retrying := lr.retrying.Load()
	ls := LoaderSnapshot{
		Name:      lr.cfg.Name,
		Source:    lr.source,
		Total:     lr.total.Load(),
		Read:      lr.read.Load(),
		Fulfilled: f,
		Rejected:  r,
		InFlight:  lr.inflight.Load(),
		Retrying:  retrying,
	}
	if retrying > 0 {
		ls.RetryAttempt = int(lr.retryAttempt.Load())
	}
	q := lr.hist.quantiles(0.5, 0.95)
	ls.P50, ls.P95 = q[0], q[1]
	lr.mu.Lock()
	ls.LastReason = lr.lastReason
	lr.mu.Unlock()
	ls.Done = lr.sourceDone.Load() && ls.Settled() == ls.Read && retrying == 0
	return ls
}

// ExitCode is the process exit code the outcome calls for: 0 when every
// item was fulfilled, 1 when any was rejected, 130 when interrupted.
func (e *Engine) ExitCode() int {
	if e.interrupted.Load() {
		return 130
	}
	for _, lr := range e.loaders {
		lr.mu.Lock()
		srcErr := lr.srcErr
		lr.mu.Unlock()
		if lr.rejected.Load() > 0 || srcErr != "" {
			return 1
		}
	}
	return 0
}
