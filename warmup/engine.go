package warmup

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/fetch"
	"github.com/cachewarm/cachewarm/warmup/journal"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// Options tune an engine beyond its config.
type Options struct {
	// OnReject, when set, is called once for every rejected item, from
	// the goroutine that settled it.
	OnReject func(loader string, r Rejection)
	// OnLoaderDone, when set, is called once per loader when its source
	// has been read and every item it yielded has settled.
	OnLoaderDone func(LoaderSnapshot)
	// UserAgent is sent with every fetch unless a loader's headers set
	// one (default "cachewarm").
	UserAgent string
	// Shard, when set, makes the engine run only the items whose key
	// hashes to it; the others are left to the processes of the other
	// shards.
	Shard Shard
	// Verify, when set, checks after the run settles (and after each
	// Retry) that every fulfilled item's key is in Redis as written;
	// the items whose key is not become rejected.
	Verify bool
	// OnVerify, when set, is called as each verify pass starts, before
	// any key is read back.
	OnVerify func()
	// OnRedisRestart, when set, is called as soon as the run sees that a
	// Redis process that acknowledged its writes was replaced (restarted,
	// failed over): the keys it held are re-checked when the run settles.
	OnRedisRestart func(RedisRestart)
	// OnRedisWaiting, when set, is called as an outage starts: a write
	// found Redis unavailable, or commands waited past a short threshold
	// without any reply. OnRedisBack is called when Redis answers again,
	// with the outage ended; an outage the run gave up on, or was
	// stopped in, ends with the run (OnStop).
	OnRedisWaiting, OnRedisBack func(Outage)
	// OnStop, when set, is called once when the run is stopped, with why.
	OnStop func(Stop)
	// Journal, when set, is where the run keeps its ledger, to resume
	// from after a crash (StartResumed); else the rejections go to an
	// unlinked temporary file, out of memory all the same.
	Journal *journal.Journal
	// HoldOnRedisWait, set by the monitor, makes a run that Redis stopped
	// (run.redis_wait passed) hold instead of end: its sources stop being
	// read and the items that waited are rejected as after any such stop,
	// but Retry and Resume go on in the same run once Redis answers.
	HoldOnRedisWait bool
}

// Engine runs loaders into Redis and keeps every item's outcome.
// All methods are safe for concurrent use.
type Engine struct {
	cfg   *config.Config
	opts  Options
	rdb   *rediswrite.Target
	fetch *fetch.Client
	w     *rediswrite.Writer
	gate  *gate

	// budget bounds the items read and not yet settled, run-wide.
	budget *semaphore.Weighted
	// slots bound the fetches in flight (run.concurrency); bodies bound
	// the items that fetch or hold a fetched body (twice that), so that
	// bodies waiting for a slow Redis stay within the config's limits.
	slots  *semaphore.Weighted
	bodies *semaphore.Weighted
	// origins adapt the fetches in flight per origin for the loaders
	// with fetch.adaptive; nil when none has it.
	origins *fetch.Origins

	loaders []*loaderRun
	byName  map[string]*loaderRun

	// stopCtx ends when no new item or attempt may start.
	stopCtx context.Context
	stop    context.CancelFunc
	// hardCtx ends attempts in flight at once (a second interrupt).
	hardCtx context.Context
	kill    context.CancelFunc
	// closeCtx ends the engine's own goroutines at Close.
	closeCtx context.Context
	closeAll context.CancelFunc

	// work counts feeders and unsettled items; busy mirrors it for
	// snapshots.
	work        sync.WaitGroup
	busy        atomic.Int64
	retryPasses atomic.Int32
	interrupted atomic.Bool
	stopMu      sync.Mutex
	stopReason  string
	started     time.Time
	endedAt     atomic.Int64 // unix nanos when the run last settled, 0 while busy
	// idle is the time spent settled between a run's end and a retry
	// (nanoseconds), which its elapsed time leaves out.
	idle atomic.Int64

	verify verifyRun
	// restart follows which Redis processes acknowledged the writes.
	restart restartWatch
	// hold is a run Redis stopped in a monitor (hold.go).
	hold holdState
	// workSig wakes what sleeps while the run is settled (idle.go).
	workSig workSignal
	// mem watches Redis's memory while the run works (memory.go).
	mem memoryWatch

	// jnl holds the rejections and the marks (see ledger.go and
	// journaling.go); ownsJournal says it is the engine's temporary one.
	jnl         *journal.Journal
	ownsJournal bool

	// retryFrom is the report StartFrom runs from, "" for a first run.
	retryFrom string
	// notes are set by StartFrom, before the run; see Notes.
	notes []string

	rates *rateSampler
	// items recycles settled items.
	items sync.Pool
	// fetchq hands items to idle fetch goroutines.
	fetchq chan *item
}

// New makes an engine writing through rdb: a *rediswrite.Target from
// rediswrite.Connect, or any go-redis client (a *redis.ClusterClient is
// written to as a cluster). Call Start (or StartFrom), then Wait, then
// Close.
func New(cfg *config.Config, rdb redis.UniversalClient, opts Options) *Engine {
	e := &Engine{cfg: cfg, opts: opts, byName: map[string]*loaderRun{}, fetchq: make(chan *item)}
	ua := opts.UserAgent
	if ua == "" {
		ua = "cachewarm"
	}
	e.fetch = fetch.New(fetch.Options{Concurrency: cfg.Run.Concurrency, Timeout: cfg.Run.Timeout, UserAgent: ua, MaxBody: cfg.Run.MaxBody})
	e.stopCtx, e.stop = context.WithCancel(context.Background())
	e.hardCtx, e.kill = context.WithCancel(context.Background())
	e.closeCtx, e.closeAll = context.WithCancel(context.Background())
	e.slots = semaphore.NewWeighted(int64(cfg.Run.Concurrency))
	e.bodies = semaphore.NewWeighted(int64(2 * cfg.Run.Concurrency))
	if slices.ContainsFunc(cfg.Loaders, func(l *config.Loader) bool { return l.Fetch != nil && l.Fetch.Adaptive }) {
		e.origins = fetch.NewOrigins(cfg.Run.Concurrency)
	}
	if rdb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), min(cfg.Run.Timeout, 5*time.Second))
		e.rdb = rediswrite.NewTarget(ctx, rdb)
		cancel()
	}
	wo := writerOptions(cfg, e.rdb)
	e.budget = semaphore.NewWeighted(budgetFor(cfg, wo))
	for _, l := range cfg.Loaders {
		lr := newLoaderRun(l, cfg)
		if (l.Fetch != nil || l.Rate > 0) && l.Mode != config.ModeOverwrite {
			lr.ahead = semaphore.NewWeighted(int64(aheadFor(wo)))
		}
		e.loaders = append(e.loaders, lr)
		e.byName[l.Name] = lr
	}
	e.gate = newGate(e)
	if e.rdb != nil {
		wo.Ready = e.gate.wait
		wo.Done = func(op *rediswrite.Op, err error) {
			e.gate.replied(err)
			e.written(op, err)
		}
		wo.Replicas = e.rdb.Replicas()
		e.w = rediswrite.NewWriter(e.hardCtx, e.rdb, wo)
	}
	e.rates = newRateSampler(len(e.loaders))
	e.openLedger()
	return e
}

// writerOptions sizes the one writer: pipelines as deep as the config
// asks, or the writer's default, never tied to run.concurrency, and as
// many in flight as pipelinesFor says.
func writerOptions(cfg *config.Config, t *rediswrite.Target) rediswrite.Options {
	masters := 1
	if t != nil {
		masters = t.Masters()
	}
	return rediswrite.Options{Batch: cfg.Redis.Pipeline, Pipelines: pipelinesFor(masters), Timeout: cfg.Run.Timeout}
}

// pipelinesFor is how many pipelines may be in flight for a target of
// that many masters: four per master, since a cluster pipeline is split
// by master and each master then has as much work waiting as one server
// would, up to maxPipelines, since the items in flight (and so memory)
// grow with them.
func pipelinesFor(masters int) int { return min(4*max(1, masters), maxPipelines) }

// maxPipelines bounds pipelinesFor.
const maxPipelines = 16

// aheadFor is how many of a loader's items may be checked and not yet
// fetching: one pipeline's worth, so that checks of warm keys fill
// pipelines while cold ones wait for their fetch.
func aheadFor(wo rediswrite.Options) int {
	if wo.Batch > 0 {
		return wo.Batch
	}
	return rediswrite.DefaultBatch
}

// budgetFor is how many items may be read and unsettled at once: two per
// fetch slot (one fetching, one waiting for its write) plus two full
// pipelines per writer goroutine (one in flight, the next one queued), so
// that neither origins nor Redis wait for the source.
func budgetFor(cfg *config.Config, wo rediswrite.Options) int64 {
	batch := wo.Batch
	if batch <= 0 {
		batch = rediswrite.DefaultBatch
	}
	return int64(2*cfg.Run.Concurrency + 2*wo.Pipelines*batch)
}

// loaderRun is the live state of one loader: its ledger.
type loaderRun struct {
	cfg    *config.Loader
	source string
	// hosts are where the loader's fetches may go, when its URLs come
	// from a sitemap; nil: anywhere.
	hosts *fetch.Hosts
	// readsBody says the value template may read .body: only then is a
	// fetched body decoded for it.
	readsBody bool

	// total is the number of items the loader's source holds in this run
	// when known, else -1.
	total        atomic.Int64
	retryAttempt atomic.Int64
	// feeding counts this loader's feeders still reading.
	feeding atomic.Int32
	// hist is the latency of settled items' last attempts (fetch +
	// write), fulfilled or rejected at the fetch or the write; fetchHist
	// and writeHist time every fetch and every write reply, whatever
	// its outcome, for metrics.
	hist, fetchHist, writeHist histogram
	// attempts counts attempts started, rejectedTotal the rejections
	// settled by this run (a retried item's counted again): counters that
	// only go up, for metrics.
	attempts, rejectedTotal atomic.Int64

	sem     *semaphore.Weighted
	limiter *rate.Limiter
	// origin is the adaptive limit of the origin the loader fetched from
	// last (fetch.adaptive), for snapshots; nil before its first fetch.
	origin atomic.Pointer[fetch.Limiter]
	// reviver turns rejections back into items, for retries.
	reviver *source.Reviver

	// mu guards the ledger: the counts change together, so that every
	// snapshot reads read = fulfilled + rejected + in flight exactly.
	mu                                  sync.Mutex
	read, fulfilled, rejected, retrying int64
	// retryCause is the cause of the items retrying (see
	// LoaderSnapshot.RetryingCause).
	retryCause string
	// warm counts the fulfilled items whose key was there already and
	// was left alone (mode missing or expiring).
	warm int64
	// store holds the rejections (in the journal), window the items read
	// and not settled, for the journal's marks: see ledger.go.
	store  rejectionStore
	window lowWater
	// atSource counts the rejections only a fixed source can undo.
	atSource int64
	// telling counts the rejections counted and not yet told (OnReject):
	// the loader is not done before they are.
	telling int
	// oldest and youngest end the list of the loader's items in flight
	// (item.older, item.newer), in the order they went in flight.
	oldest, youngest *item
	// queued counts the items read that wait for the loader's pace
	// (item.queued), apart from those in flight.
	queued int64
	// causes count the rejections by cause, so that snapshots list them
	// without reading every rejection.
	causes                map[string]*causeTally
	lastReason, lastCause string
	srcErr                string
	// resume is where the first pass's source stopped; nil while it is
	// being read.
	resume *source.Resume
	// fulfilledBefore counts items fulfilled by earlier runs of a
	// --retry-from chain.
	fulfilledBefore int64
	// demoted counts items this run fulfilled that a verify pass then
	// rejected: fulfilled went down by as many, and a counter of
	// fulfilments may not.
	demoted      int64
	doneReported bool

	// checked holds the items whose check found their key cold, until
	// the dispatcher starts their fetch; dispatching says it runs.
	checkedMu   sync.Mutex
	checked     []*item
	dispatching bool
	// ahead bounds the items of a loader that checks and then waits (for
	// a fetch or its rate) that are checked and not yet fetching or
	// written: checks run at most this far ahead, so that a check is
	// fresh when its fetch starts, and a stop finds few items between the
	// two. nil for other loaders.
	ahead *semaphore.Weighted
	// readFrom is where this run began reading the source (nil: its
	// start), and prior, for a --retry-from run, streams the earlier
	// report's rejected items again: together what a verify pass reads.
	readFrom *source.Resume
	prior    func() *rejectedStream
	verify   verifyTally
	// restartTally counts the loader's keys re-checked after a restart.
	restartTally verifyTally
}

func newLoaderRun(l *config.Loader, cfg *config.Config) *loaderRun {
	lr := &loaderRun{cfg: l, source: describeLoader(l, cfg.Secrets()), hosts: l.FetchHosts(cfg.Redis.Addresses()), reviver: &source.Reviver{}}
	lr.readsBody = l.Value != nil && l.Value.ReadsBody()
	// A CSV file's header is read now, for retries; should that fail,
	// the run's own reading of the file will say why.
	if rv, err := source.NewReviver(l.Items); err == nil {
		lr.reviver = rv
	}
	lr.total.Store(-1)
	if l.Concurrency > 0 {
		lr.sem = semaphore.NewWeighted(int64(l.Concurrency))
	}
	if l.Rate > 0 {
		lr.limiter = newLimiter(l.Rate)
	}
	return lr
}

// countRead counts one item read, not from the loader's source (an
// earlier report's rejection).
func (lr *loaderRun) countRead() {
	lr.mu.Lock()
	lr.read++
	lr.mu.Unlock()
}

// readLocked counts one item read from the loader's source, which then
// stands at after, and returns the item's sequence number, with lr.mu
// held.
func (lr *loaderRun) readLocked(after source.Resume) int64 {
	lr.read++
	return lr.window.read(after)
}

// describeLoader names a loader's items and, when it fetches, the host,
// for its tile, the report and the dry run: without secrets, which a
// sitemap's URL may carry (?token=${TOK}).
func describeLoader(l *config.Loader, secrets *config.Redactor) string {
	s := l.Items.Describe()
	if l.Fetch != nil {
		s += " → " + hostOf(l.Fetch.URL.Text)
	}
	return secrets.Redact(s)
}

// hostOf is the host a fetch URL template names. When a template action
// supplies the host ("{{origin}}/p/{{.id}}"), the host is known only per
// item, so it is the action's text without its braces ("origin").
func hostOf(tmpl string) string {
	s := tmpl
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if action, ok := leadingAction(s); ok {
		return action
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// leadingAction returns the text of the template action that is the
// whole host part of s, without its delimiters and trim markers:
// "{{- .base }}/x" gives ".base"; "{{.region}}.api.test/x" gives nothing.
func leadingAction(s string) (string, bool) {
	if !strings.HasPrefix(s, "{{") {
		return "", false
	}
	end := strings.Index(s, "}}")
	if end < 0 {
		return "", false
	}
	if rest := s[end+2:]; rest != "" && !strings.ContainsAny(rest[:1], "/?#") {
		return "", false
	}
	return strings.Trim(s[2:end], "- \t"), true
}

// Start reads every loader's source at once, in the background.
func (e *Engine) Start() {
	e.begin()
	for _, lr := range e.loaders {
		e.startFirstPass(lr)
	}
	e.busyDone()
}

// startFirstPass reads lr's source from its start.
func (e *Engine) startFirstPass(lr *loaderRun) {
	src, err := source.OpenContext(e.stopCtx, lr.cfg.Items, nil)
	if err != nil {
		// The file vanished between validation and start.
		e.sourceFailed(lr, err)
		return
	}
	lr.reviver.Follow(src)
	lr.total.Store(e.shareOf(src.Total()))
	lr.mu.Lock()
	lr.window.start(src.Resume())
	lr.mu.Unlock()
	e.startFeed(lr, &firstPass{lr: lr, src: src}, passFirst)
}

// begin marks the run started, and busy until the caller has started
// every feeder (then it calls busyDone).
func (e *Engine) begin() {
	e.started = time.Now()
	if e.opts.Verify {
		e.verify.due.Store(true)
		e.verify.evicted.Store(-1)
		e.verify.evictedAtStart.Store(e.evictedKeys())
	}
	e.watchFrom()
	e.busyAdd(1)
	if e.rdb != nil {
		e.startMemoryWatch()
	}
	go e.rates.run(e.closeCtx, e.settledCounts, e.whenWorkStarts)
	go e.gate.watch(e.closeCtx)
	go e.markLoop(e.closeCtx)
}

// sourceFailed records a source that could not be opened: nothing of it
// was read, so all of it is not started.
func (e *Engine) sourceFailed(lr *loaderRun, err error) {
	lr.mu.Lock()
	lr.srcErr = e.cfg.Secrets().Redact(err.Error())
	lr.lastReason, lr.lastCause = lr.srcErr, lr.srcErr
	lr.resume = &source.Resume{Remaining: -1}
	lr.mu.Unlock()
	lr.total.Store(0)
}

// Retry feeds the retryable rejected items of the named loaders (all when
// none are named) back through the same path, in the background. It
// returns how many items it queued; fulfilled items are never touched.
func (e *Engine) Retry(loaders ...string) int { return e.RetryCause("", loaders...) }

// RetryCause is Retry for the rejected items whose cause is cause only
// (every cause when it is ""); the others stay rejected.
func (e *Engine) RetryCause(cause string, loaders ...string) int {
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
	return e.retryMatching(targets, func(lr *loaderRun) *rejectionSource { return lr.takeRetryable(cause) })
}

// retryMatching starts a Retry pass in each target loader of the
// rejections take takes from it, and returns how many it queued: the one
// path of Retry, RetryCause and RetryItem.
func (e *Engine) retryMatching(targets []*loaderRun, take func(*loaderRun) *rejectionSource) int {
	queued := 0
	// One unit of work held across the loop: a loader's retry that
	// settles before the next one starts must not look like the end of
	// the run (and start a verify pass).
	e.busyAdd(1)
	defer e.busyDone()
	for _, lr := range targets {
		took := take(lr)
		if took == nil {
			continue
		}
		if queued == 0 {
			// A held run's retry needs Redis: its feeders read again
			// and the gate waits for Redis anew.
			e.unhold(true)
		}
		queued += int(took.left)
		e.verify.due.Store(true)
		e.restart.due.Store(true)
		e.startFeed(lr, took, passRetry)
	}
	return queued
}

// Stop stops taking new items and attempts; in-flight items settle
// (bounded by the timeout), items waiting for a retry are rejected
// "interrupted", and every source records where it stopped.
func (e *Engine) Stop() { e.stopBecause(StopInterrupt, "") }

// stopBecause stops the run; reason is why when it was not the user
// ("Redis unavailable for 30s: connection refused").
func (e *Engine) stopBecause(why, reason string) { e.stopBecauseFor(why, reason, 0) }

// stopBecauseFor is stopBecause for an outage of seconds (0: none), told
// with the stop.
func (e *Engine) stopBecauseFor(why, reason string, seconds float64) {
	e.stopMu.Lock()
	defer e.stopMu.Unlock()
	if e.stopCtx.Err() != nil {
		return
	}
	if e.opts.OnStop != nil && (reason != "" || e.busy.Load() > 0) {
		// Told before the stop takes effect: before the rejections and
		// the loaders' ends it causes. Closing a run that settled stops
		// nothing.
		st := Stop{Why: why, Reason: reason, Seconds: seconds}
		callback(func() { e.opts.OnStop(st) })
	}
	// Only a stop that cuts work short is an interruption; quitting
	// after everything settled is not.
	if reason != "" {
		e.stopReason = reason
	} else if e.busy.Load() > 0 {
		e.interrupted.Store(true)
	}
	e.stop()
}

// Stopped reports whether the run was stopped (Stop, Kill, or Redis
// unavailable for longer than run.redis_wait).
func (e *Engine) Stopped() bool { return e.stopCtx.Err() != nil }

// StopReason says why the run stopped by itself, or "".
func (e *Engine) StopReason() string {
	e.stopMu.Lock()
	defer e.stopMu.Unlock()
	return e.stopReason
}

// InFlight counts the items read and not yet settled.
func (e *Engine) InFlight() int64 {
	var n int64
	for _, lr := range e.loaders {
		ls := lr.snapshot()
		n += ls.InFlight + ls.Queued
	}
	return n
}

// Kill ends in-flight attempts at once; they are rejected "interrupted".
func (e *Engine) Kill() {
	e.Stop()
	e.kill()
}

// Interrupted reports whether Stop cut the run short.
func (e *Engine) Interrupted() bool { return e.interrupted.Load() }

// Wait blocks until every feeder has ended and every item read has
// settled.
func (e *Engine) Wait() { e.work.Wait() }

// Close ends the engine's goroutines and connections, and closes its
// journal. Call it after Wait, and after writing the report, whose
// rejections are read back from the journal.
func (e *Engine) Close() {
	e.Kill()
	e.closeAll()
	if e.w != nil {
		e.w.Close()
	}
	e.fetch.CloseIdle()
	e.closeLedger()
}

// ExitCode is the process exit code the outcome calls for: 0 only when
// every item of every loader was fulfilled, 130 when interrupted, else 1.
func (e *Engine) ExitCode() int {
	if e.interrupted.Load() {
		return 130
	}
	for _, lr := range e.loaders {
		ls := lr.snapshot()
		if ls.Rejected > 0 || ls.NotStarted != 0 || ls.InFlight > 0 || ls.Queued > 0 || ls.SourceError != "" {
			return 1
		}
	}
	if e.StopReason() != "" || e.verifyFellShort() || e.restartUnproven() {
		return 1
	}
	return 0
}

// Rejections returns a copy of a loader's latest rejected items, at most
// maxRecent of them (its snapshot's Rejected counts them all; the report
// lists them all).
func (e *Engine) Rejections(loader string) []Rejection {
	lr, ok := e.byName[loader]
	if !ok {
		return nil
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return slices.Clone(lr.store.recent)
}

// busyAdd counts n more feeders or unsettled items.
func (e *Engine) busyAdd(n int) {
	e.work.Add(n)
	if e.busy.Add(int64(n)) == int64(n) {
		if t := e.endedAt.Swap(0); t != 0 {
			e.idle.Add(time.Now().UnixNano() - t)
		}
		e.workSig.started()
	}
}

// busyDone counts one feeder or item done. The last one done starts a
// verify pass when one is due, else marks the run settled.
func (e *Engine) busyDone() {
	if e.busy.Add(-1) == 0 && !e.startRestartCheckIfDue() && !e.startVerifyIfDue() {
		e.endedAt.Store(time.Now().UnixNano())
		e.finalEvictions()
	}
	e.work.Done()
}

// rateBurst is how much of a loader's rate may start at once. With a
// burst of one, every late wake-up of a timer loses its token: 20,000/s
// started about 2,700 a second. Ten milliseconds' worth keeps the pace
// while any one second starts at most 1% more than the rate.
const rateBurst = 10 * time.Millisecond

// newLimiter paces a loader's attempts at perSecond.
func newLimiter(perSecond float64) *rate.Limiter {
	burst := max(1, int(perSecond*rateBurst.Seconds()))
	return rate.NewLimiter(rate.Limit(perSecond), burst)
}
