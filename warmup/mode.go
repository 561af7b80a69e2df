package warmup

import (
	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// A loader's mode decides which keys it writes. "missing" and "expiring"
// read the key first (EXISTS, PTTL), through the writer like any
// command, and leave a warm key alone: its item is fulfilled as already
// warm and never fetched.

// needsCheck says whether x's key is to be read before anything else is
// done for it. Mode "missing" without a fetch needs no check: its SET NX
// is the check, in one round trip. Mode "expiring" checks even without a
// fetch: PTTL then SET costs two pipelined round trips, and a script
// doing both would be a second way of writing.
func (x *item) needsCheck() bool {
	switch x.lr.cfg.Mode {
	case config.ModeMissing:
		return x.lr.cfg.Fetch != nil && !x.checked
	case config.ModeExpiring:
		return !x.checked
	}
	return false
}

// command is what x sends next: its check, or its write. Mode "missing"
// writes with NX even after a check found the key absent: the
// application may have written it since, and its value wins.
func (x *item) command() rediswrite.Cmd {
	missing := x.lr.cfg.Mode == config.ModeMissing
	if x.needsCheck() {
		if missing {
			return rediswrite.CmdExists
		}
		return rediswrite.CmdPTTL
	}
	hash := x.lr.cfg.Type == config.TypeHash
	switch {
	case hash && missing:
		return rediswrite.CmdHashNX
	case hash:
		return rediswrite.CmdHash
	case missing:
		return rediswrite.CmdSetNX
	}
	return rediswrite.CmdSet
}

// warmByCheck says whether x's check found its key warm: there, and for
// mode "expiring" with at least expire_below left or no expiry at all.
func (x *item) warmByCheck() bool {
	got := x.op.Got
	if x.lr.cfg.Mode == config.ModeMissing {
		return got > 0
	}
	// PTTL: -2 when there is no key, -1 when it never expires.
	return got == -1 || got >= x.lr.cfg.ExpireBelow.Milliseconds()
}

// afterCheck settles x as already warm when its check says so, else goes
// on with the fetch or write the check began. It runs on a writer
// goroutine, which must not wait: an item that may wait (for a fetch slot
// or the rate limit) is queued for the loader's dispatcher.
func (e *Engine) afterCheck(x *item) {
	if x.warmByCheck() {
		e.fulfil(x, true)
		return
	}
	x.checked, x.checkCounted = true, true
	if !x.needsFetch() && x.lr.limiter == nil {
		// The check began this item's attempt: a graceful stop lets an
		// attempt in flight settle, and its write is all that is left.
		e.write(x)
		return
	}
	x.lr.queueChecked(e, x)
}

// queueChecked queues x, whose check found its key cold, for its fetch
// or its rate-limited write, and starts the loader's dispatcher unless it
// runs. The queue holds items the run's budget already bounds.
func (lr *loaderRun) queueChecked(e *Engine, x *item) {
	lr.checkedMu.Lock()
	lr.checked = append(lr.checked, x)
	start := !lr.dispatching
	lr.dispatching = true
	lr.checkedMu.Unlock()
	if start {
		go e.dispatchChecked(lr)
	}
}

// dispatchChecked starts the queued items' attempts in order, waiting
// for fetch slots and the rate limit as the feeder does, until the queue
// is empty.
func (e *Engine) dispatchChecked(lr *loaderRun) {
	for {
		lr.checkedMu.Lock()
		if len(lr.checked) == 0 {
			lr.checked = nil
			lr.dispatching = false
			lr.checkedMu.Unlock()
			return
		}
		x := lr.checked[0]
		lr.checked[0] = nil
		lr.checked = lr.checked[1:]
		lr.checkedMu.Unlock()
		e.startChecked(x)
	}
}

// startChecked starts x's fetch or write, the check behind it.
func (e *Engine) startChecked(x *item) {
	defer e.recoverItem(x)
	e.attempt(x, e.goFetch)
}

// acquireAhead takes a unit of x's loader's bound on items checked ahead
// of their fetch, waiting while it is used up; false when the run was
// stopped.
func (e *Engine) acquireAhead(x *item) bool {
	if x.lr.ahead == nil || x.holdsAhead {
		return e.stopCtx.Err() == nil
	}
	if x.lr.ahead.Acquire(e.stopCtx, 1) != nil {
		return false
	}
	x.holdsAhead = true
	return true
}

// releaseAhead gives back x's unit of that bound: its fetch or write is
// starting, or it settled.
func (x *item) releaseAhead() {
	if x.holdsAhead {
		x.lr.ahead.Release(1)
		x.holdsAhead = false
	}
}
