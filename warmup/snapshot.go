package warmup

import (
	"context"
	"sync"
	"time"

	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// State is the phase a run is in.
type State string

// The states a run moves through.
const (
	StateRunning  State = "running"
	StateRetrying State = "retrying"
	// StateWaiting: Redis is unavailable; nothing new is read until it
	// answers or run.redis_wait passes.
	StateWaiting State = "waiting for Redis"
	StateDone    State = "done"
	// StateStopping is entered when the run was stopped and in-flight
	// items are settling.
	StateStopping State = "stopping"
	// StateVerifying: every item settled, and --verify is reading the
	// fulfilled items' keys back.
	StateVerifying State = "verifying"
	// StateRechecking: Redis restarted (or failed over) after it had
	// acknowledged writes, and the keys in doubt are being read back.
	StateRechecking State = "re-checking after Redis restart"
)

// Snapshot is a copy of the engine's counters, taken on a tick by a UI or
// a progress printer. Taking one costs O(loaders), never O(items), and
// changes nothing.
type Snapshot struct {
	// Redis is the Redis target with any password redacted.
	Redis string
	// Topology says what the target is when it is more than one server
	// ("cluster · 3 masters", "sentinel mymaster 127.0.0.1:6380"), else "".
	Topology string
	State    State
	// Stopped is true once the run was stopped: no new item or attempt
	// starts, and the run ends when the in-flight ones settle.
	Stopped bool
	// StopReason says why the run stopped by itself (Redis unavailable
	// for longer than run.redis_wait), or "".
	StopReason string
	// RedisDown is how long Redis has been unavailable, counted from its
	// last good reply (RedisSince), 0 while it answers; RedisCause is why
	// ("redis 127.0.0.1:6379: connection refused", or "… no reply" while
	// commands wait past a short threshold with no reply and no error
	// yet). Unavailable is a state shown, never an outcome: it counts no
	// item as anything.
	RedisDown  time.Duration
	RedisCause string
	RedisSince time.Time
	Started    time.Time
	// Elapsed is the time the run has been working: it stops moving once
	// every item has settled, and moves on from there with a retry (the
	// time in between is not counted).
	Elapsed   time.Duration
	Fulfilled int64
	// Warm counts the fulfilled items whose key was there already and
	// was left alone (a loader's mode "missing" or "expiring").
	Warm     int64
	Rejected int64
	// Pending counts items read and not settled, plus items known to
	// come (lists, ranges) not read yet.
	Pending int64
	// NotStarted counts items a stopped run never read, where known.
	NotStarted int64
	// Rate is items settled per second over the last few seconds.
	Rate float64
	// Verify is the verify pass's progress and findings, nil without
	// --verify.
	Verify *VerifyState
	// Restarts is what the run saw of Redis restarts and did about
	// them, nil while it saw none.
	Restarts *RestartCheck
	// RetryOf is the report a --retry-from run retries, "" otherwise;
	// FulfilledBefore counts the items the earlier runs of its chain
	// fulfilled, which this run's counts leave out.
	RetryOf         string
	FulfilledBefore int64
	Loaders         []LoaderSnapshot
}

// LoaderSnapshot is one loader's counters. At every moment
// Read = Fulfilled + Rejected + InFlight + Queued.
type LoaderSnapshot struct {
	Name string
	// Source says what the loader reads: "products.jsonl", "list of 12",
	// "range 1..1000", plus the fetch host when it fetches.
	Source string
	// TTL is the range of TTLs its keys are written with ("54m–1h6m"),
	// when it has a ttl_jitter; else "".
	TTL string
	// Total is the number of items when known (list, range, a single
	// URL; a file once read to its end), else -1.
	Total     int64
	Read      int64
	Fulfilled int64
	// Warm counts the fulfilled items whose key was there already and
	// was left alone: part of Fulfilled, never fetched.
	Warm     int64
	Rejected int64
	// InFlight counts items read and not settled whose attempt started:
	// being checked, fetched, written, waiting for a retry or for Redis.
	InFlight int64
	// Queued counts the items whose retry waits for its attempt to start:
	// for the loader's rate limit, its origin's adaptive limit or a fetch
	// slot. They are not in flight: a paced loader's queue is no work
	// under way. (A first attempt waits on its feeder, one at a time: it
	// counts in flight.)
	Queued int64
	// OldestInFlight is how long the oldest item in flight has been (since
	// it was read, or since its retry's attempt left the queue), 0 when
	// none is: a hung origin shows as items in flight that grow old, not
	// as an idle loader.
	OldestInFlight time.Duration
	// Retrying counts items in a retry pass (from Retry) not yet settled;
	// RetryAttempt is the highest attempt number among them.
	Retrying     int64
	RetryAttempt int
	// RetryingCause is the cause the retrying items were rejected with
	// when one retry of one cause (RetryCause) took them all, "" when
	// not: CauseLost says they are a restart's lost keys written again.
	RetryingCause string
	// SourceRead is true once the source is no longer being read: read
	// to its end, or stopped.
	SourceRead bool
	// NotStarted counts the items the source holds that were never read:
	// 0 while it is being read or once read to the end; -1 when a
	// stopped file's rest is not counted (Resume says where it starts).
	NotStarted int64
	// Resume describes where a stopped source would go on ("from line
	// 812 (byte 40960)"), or "".
	Resume string
	// Waiting is true while the loader has work and Redis is unavailable.
	Waiting bool
	// Rate is items settled per second over the last few seconds.
	Rate float64
	// P50 and P95 are the latencies of settled items' last attempts
	// (fetch + write), failed ones included: slow failures show.
	P50, P95 time.Duration
	// LastReason is the reason of the most recent rejection still
	// standing (or the source's error), or ""; LastCause is its cause.
	LastReason, LastCause string
	// Causes are the most frequent causes of the rejected items, the
	// most frequent first (at most 10).
	Causes []CauseCount
	// SourceError is an error that ended the source early, or "".
	SourceError string
	// Done is true when the source was read to its end and every item
	// settled.
	Done bool
	// Verify is what the verify pass found so far, nil without --verify.
	Verify *VerifyCounts
	// Limit is how many fetches the loader's origin takes at once right
	// now, as its adaptive limit found (fetch.adaptive), of at most
	// LimitMax (run.concurrency, or the loader's concurrency); Cuts
	// counts the times the origin made it back off. All 0 for a loader
	// that does not adapt, or before its first fetch.
	Limit, LimitMax, Cuts int
	// FulfilledBefore counts the loader's items fulfilled by the earlier
	// runs of a --retry-from chain.
	FulfilledBefore int64

	resume *source.Resume
}

// Settled is fulfilled + rejected.
func (l LoaderSnapshot) Settled() int64 { return l.Fulfilled + l.Rejected }

// Snapshot copies the counters. It costs O(loaders).
func (e *Engine) Snapshot() Snapshot {
	now := time.Now()
	s := Snapshot{
		Redis:      redact.URL(e.cfg.Redis.URL),
		Topology:   e.topology(),
		Started:    e.started,
		Stopped:    e.Stopped(),
		StopReason: e.StopReason(),
		RetryOf:    e.retryFrom,
		Loaders:    make([]LoaderSnapshot, len(e.loaders)),
	}
	down, since, cause := e.gate.state(now)
	// Once the run is stopped or held (the gate gave up), nothing waits
	// for Redis any more: the writes still draining fail at once, and the
	// header and tiles say stopped, not waiting.
	held := e.held()
	stopped := held || e.stopCtx.Err() != nil
	if down && stopped {
		down = false
		if !held {
			s.RedisDown, s.RedisCause, s.RedisSince = now.Sub(since), cause, since
		}
	}
	if down {
		s.RedisDown, s.RedisCause, s.RedisSince = now.Sub(since), cause, since
	} else if held, down, cause := e.Held(); held && down > 0 {
		// The gate gave up, the prober goes on.
		s.RedisDown, s.RedisCause = down, cause
	}
	// Every loader's ledger is read at one instant: the run-wide counts
	// (items in flight against the budget) add up too.
	for _, lr := range e.loaders {
		lr.mu.Lock()
	}
	for i, lr := range e.loaders {
		s.Loaders[i] = lr.snapshotLocked()
		if x := lr.oldest; x != nil {
			s.Loaders[i].OldestInFlight = now.Sub(x.since)
		}
	}
	for _, lr := range e.loaders {
		lr.mu.Unlock()
	}
	for i, lr := range e.loaders {
		lr.describe(&s.Loaders[i])
		if e.opts.Verify {
			c := lr.verify.counts()
			s.Loaders[i].Verify = &c
		}
	}
	for i := range s.Loaders {
		ls := s.Loaders[i]
		ls.Waiting = down && !ls.Done
		s.Loaders[i] = ls
		s.Fulfilled += ls.Fulfilled
		s.Warm += ls.Warm
		s.Rejected += ls.Rejected
		s.FulfilledBefore += ls.FulfilledBefore
		s.Pending += ls.InFlight + ls.Queued
		if ls.Total > ls.Read && !ls.SourceRead {
			s.Pending += ls.Total - ls.Read
		}
		if ls.NotStarted > 0 {
			s.NotStarted += ls.NotStarted
		}
	}
	rates, total := e.rates.rates(now, e.settledCounts())
	for i := range s.Loaders {
		// Settled items per second is a pace while items flow; once a
		// loader is done its pace is nothing, not its last few seconds'.
		if !s.Loaders[i].Done {
			s.Loaders[i].Rate = rates[i]
		}
	}
	s.Rate = total
	s.Verify = e.verifyState(s.Loaders)
	s.Restarts = e.restartCheck()
	switch {
	case e.busy.Load() == 0 && !e.started.IsZero():
		s.State = StateDone
		s.Rate = 0
	case stopped:
		// A held run is stopped as soon as the gate gives up, while the
		// items already in flight drain.
		s.State = StateStopping
	case down:
		s.State = StateWaiting
	case e.restart.running.Load():
		s.State = StateRechecking
	case e.verify.running.Load():
		s.State = StateVerifying
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
		s.Elapsed = end.Sub(e.started) - time.Duration(e.idle.Load())
	}
	return s
}

// snapshot reads one loader's ledger, its counts at one instant.
func (lr *loaderRun) snapshot() LoaderSnapshot {
	lr.mu.Lock()
	ls := lr.snapshotLocked()
	lr.mu.Unlock()
	lr.describe(&ls)
	return ls
}

// describe adds what is not part of the ledger and need not be read
// under its lock: latencies and where a stopped source stands.
func (lr *loaderRun) describe(ls *LoaderSnapshot) {
	q := lr.hist.quantiles(0.5, 0.95)
	ls.P50, ls.P95 = q[0], q[1]
	if o := lr.origin.Load(); o != nil {
		ls.LimitMax = o.Max()
		if c := lr.cfg.Concurrency; c > 0 {
			ls.LimitMax = min(ls.LimitMax, c)
		}
		ls.Limit, ls.Cuts = min(o.Limit(), ls.LimitMax), o.Cuts()
	}
	if ls.resume != nil {
		ls.Resume = ls.resume.Describe(lr.cfg.Items)
	}
}

// snapshotLocked copies the ledger, with lr.mu held.
func (lr *loaderRun) snapshotLocked() LoaderSnapshot {
	ls := LoaderSnapshot{Name: lr.cfg.Name, Source: lr.source, TTL: spreadTTL(lr.cfg)}
	ls.Total = lr.total.Load()
	ls.Read, ls.Fulfilled, ls.Rejected, ls.Retrying = lr.read, lr.fulfilled, lr.rejected, lr.retrying
	ls.Warm, ls.FulfilledBefore = lr.warm, lr.fulfilledBefore
	ls.Queued = lr.queued
	ls.InFlight = lr.read - lr.fulfilled - lr.rejected - lr.queued
	if ls.Retrying > 0 {
		ls.RetryAttempt = int(lr.retryAttempt.Load())
		ls.RetryingCause = lr.retryCause
	}
	ls.LastReason, ls.LastCause = lr.lastReason, lr.lastCause
	ls.Causes = lr.topCausesLocked()
	ls.SourceError = lr.srcErr
	if at := lr.resume; at != nil {
		ls.SourceRead = true
		if !at.Done {
			ls.NotStarted = at.Remaining
			ls.resume = at
		}
	}
	ls.Done = ls.SourceRead && ls.NotStarted == 0 && ls.InFlight == 0 && ls.Queued == 0 && lr.feeding.Load() == 0
	return ls
}

// settledCounts are the items settled per loader, and in all.
func (e *Engine) settledCounts() []int64 {
	out := make([]int64, len(e.loaders)+1)
	for i, lr := range e.loaders {
		lr.mu.Lock()
		out[i] = lr.fulfilled + lr.rejected
		lr.mu.Unlock()
		out[len(e.loaders)] += out[i]
	}
	return out
}

// rateSampler keeps a few seconds of settled counts, sampled on its own
// tick, so that Snapshot can give rates without changing anything.
type rateSampler struct {
	mu      sync.Mutex
	n       int
	samples []rateSample
}

type rateSample struct {
	at      time.Time
	settled []int64
}

const (
	rateEvery  = 250 * time.Millisecond
	rateWindow = 3 * time.Second
)

func newRateSampler(loaders int) *rateSampler { return &rateSampler{n: loaders} }

// run samples until ctx ends. While the run is settled (whenSettled
// gives a channel closed when work starts again) nothing settles and it
// sleeps, keeping only its latest sample, so that rates read 0 until
// work starts, and then from the start.
func (r *rateSampler) run(ctx context.Context, counts func() []int64, whenSettled func() <-chan struct{}) {
	t := time.NewTicker(rateEvery)
	defer t.Stop()
	r.add(time.Now(), counts())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			settled := whenSettled()
			r.add(now, counts())
			if settled == nil {
				continue
			}
			t.Stop()
			r.keepLatest()
			select {
			case <-ctx.Done():
				return
			case <-settled:
			}
			r.add(time.Now(), counts())
			t.Reset(rateEvery)
		}
	}
}

// keepLatest drops every sample but the latest.
func (r *rateSampler) keepLatest() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.samples); n > 1 {
		r.samples = append(r.samples[:0], r.samples[n-1])
	}
}

func (r *rateSampler) add(now time.Time, settled []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, rateSample{at: now, settled: settled})
	cut := 0
	for cut < len(r.samples)-1 && now.Sub(r.samples[cut].at) > rateWindow {
		cut++
	}
	r.samples = append(r.samples[:0], r.samples[cut:]...)
}

// rates are items settled per second since the oldest sample, per loader
// and in all.
func (r *rateSampler) rates(now time.Time, settled []int64) ([]float64, float64) {
	out := make([]float64, r.n)
	r.mu.Lock()
	var oldest rateSample
	if len(r.samples) > 0 {
		oldest = r.samples[0]
	}
	r.mu.Unlock()
	dt := now.Sub(oldest.at).Seconds()
	if oldest.settled == nil || dt < 0.2 {
		return out, 0
	}
	for i := range out {
		out[i] = max(0, float64(settled[i]-oldest.settled[i])/dt)
	}
	return out, max(0, float64(settled[r.n]-oldest.settled[r.n])/dt)
}

// topology is the target's Topology, "" without Redis (a dry run).
func (e *Engine) topology() string {
	if e.rdb == nil {
		return ""
	}
	return e.rdb.Topology()
}
