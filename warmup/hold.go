package warmup

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// holdState is a run that Redis stopped in a monitor (Options.HoldOnRedisWait):
// run.redis_wait passed, so nothing more is read and the items that waited
// are rejected with the outage's cause, as after any redis_wait stop; but
// the run is not over. A prober keeps asking Redis, and Retry or Resume go
// on in the same process once it answers, with the same ledger.
type holdState struct {
	// on stops the feeders: set when the gate gives up, cleared by Retry
	// and Resume.
	on atomic.Bool
	mu sync.Mutex
	// since and cause are the outage's; back is when Redis answered again
	// (zero while it does not); cancel ends the prober.
	since  time.Time
	cause  string
	back   time.Time
	cancel context.CancelFunc
}

// holdBecause holds the run instead of stopping it: reason is the stop's,
// kept as the run's StopReason (and its exit code's) until Resume reads
// the rest. It is called by the gate as it gives up, before it rejects
// the items it held.
func (e *Engine) holdBecause(reason string, since time.Time, cause string) {
	e.stopMu.Lock()
	e.stopReason = reason
	e.stopMu.Unlock()
	h := &e.hold
	ctx, cancel := context.WithCancel(e.stopCtx)
	h.mu.Lock()
	if h.cancel != nil {
		h.cancel()
	}
	h.since, h.cause, h.back, h.cancel = since, cause, time.Time{}, cancel
	h.mu.Unlock()
	h.on.Store(true)
	go e.probeHeld(ctx)
}

// holdProbeEvery is how often a held run asks whether Redis is back.
const holdProbeEvery = time.Second

// probeHeld asks Redis until it answers (then notes which process it is,
// as the gate does when it opens), or ctx ends.
func (e *Engine) probeHeld(ctx context.Context) {
	t := time.NewTicker(holdProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.closeCtx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, min(e.cfg.Run.Timeout, 2*time.Second))
		err := e.rdb.Probe(pctx)
		cancel()
		if err != nil {
			e.hold.mu.Lock()
			e.hold.cause = e.gate.causeOf(err)
			e.hold.mu.Unlock()
			continue
		}
		back := time.Now()
		e.noteIdentity()
		// The outage ends here; writes go to Redis again (the feeders
		// stay held): those still draining, and the re-check.
		e.gate.heldBack(back)
		e.gate.rearm()
		// Keys a restart put in doubt are re-checked now, not at the next
		// r or R: a held run may wait for a key press for hours, and its
		// fulfilled count must not stand as fact meanwhile. Counted as
		// work before Redis is said to be back.
		e.startRestartCheckNow()
		e.hold.mu.Lock()
		e.hold.back = back
		e.hold.mu.Unlock()
		return
	}
}

// held reports whether the run is held: its feeders read nothing.
func (e *Engine) held() bool { return e.hold.on.Load() }

// Held reports whether Redis stopped the run in a monitor and it waits for
// Retry or Resume; down is how long Redis has been unavailable, 0 once it
// answers again, and cause why it was.
func (e *Engine) Held() (held bool, down time.Duration, cause string) {
	if !e.held() {
		return false, 0, ""
	}
	e.hold.mu.Lock()
	defer e.hold.mu.Unlock()
	if e.hold.back.IsZero() {
		down = time.Since(e.hold.since)
	}
	return true, down, e.hold.cause
}

// unhold lets work flow again after a hold: the prober ends, and the gate
// waits for Redis anew (up to run.redis_wait) should it still be down.
// keepReason keeps the stop's reason, for a retry that leaves the rest of
// the sources unread.
func (e *Engine) unhold(keepReason bool) {
	if e.hold.on.Swap(false) {
		e.hold.mu.Lock()
		if e.hold.cancel != nil {
			e.hold.cancel()
			e.hold.cancel = nil
		}
		e.hold.mu.Unlock()
		e.gate.rearm()
	}
	if !keepReason {
		e.stopMu.Lock()
		e.stopReason = ""
		e.stopMu.Unlock()
	}
}

// rearm takes the gate back to open after it gave up on a held run.
// An outage the hold gave up on and Redis has not ended ends here, still
// down: the gate waits for Redis anew, as a new outage.
func (g *gate) rearm() {
	g.mu.Lock()
	g.gaveUp = false
	if i := g.heldOut; i > 0 {
		now := time.Now()
		o := &g.outages[i-1]
		o.End, o.Seconds = now, outageSeconds(now.Sub(o.Start))
		g.heldOut = 0
	}
	g.mu.Unlock()
}

// Resume reads on the sources a stop left unread, each from where it
// stopped (its resume point, exactly: no item is read twice, none is
// skipped), and returns how many loaders it resumed. Only a run that
// Redis stopped in a monitor (see Options.HoldOnRedisWait) has any: a
// stopped run does not resume.
func (e *Engine) Resume() int {
	if e.stopCtx.Err() != nil || e.StopReason() == "" {
		return 0
	}
	// One unit of work across the loop, as in RetryCause: a loader that
	// settles before the next starts is not the end of the run.
	e.busyAdd(1)
	defer e.busyDone()
	e.unhold(false)
	n := 0
	for _, lr := range e.loaders {
		if e.resumeLoaderRest(lr) {
			n++
		}
	}
	return n
}

// resumeLoaderRest starts reading lr's source again from where it stopped,
// when it stopped early and can be read again. A retry of the loader's
// rejected items may be running: it reads the journal, not the source.
func (e *Engine) resumeLoaderRest(lr *loaderRun) bool {
	lr.mu.Lock()
	at := lr.resume
	ok := at != nil && !at.Done && at.Remaining != 0 && at.Kind != source.KindStream && lr.srcErr == ""
	if ok {
		// Reading again: the loader is not done, and its marks follow
		// the window, which goes on from the last item read.
		lr.resume = nil
	}
	lr.mu.Unlock()
	if !ok {
		return false
	}
	src, err := source.OpenContext(e.stopCtx, lr.cfg.Items, at)
	if err != nil {
		lr.mu.Lock()
		lr.resume = at
		lr.srcErr = e.cfg.Secrets().Redact(fmt.Sprintf("resume: %v", err))
		lr.lastReason, lr.lastCause = lr.srcErr, lr.srcErr
		lr.mu.Unlock()
		return false
	}
	e.startFeed(lr, &firstPass{lr: lr, src: src}, passFirst)
	return true
}
