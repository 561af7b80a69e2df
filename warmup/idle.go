package warmup

import (
	"context"
	"sync"
)

// workSignal lets the engine's periodic loops (marks, rates, the memory
// watch) and a monitor sleep while the run is settled: nothing they read
// changes then, and a finished monitor left open for hours should not
// wake the machine for nothing.
type workSignal struct {
	mu sync.Mutex
	// ch is closed when work starts again; nil while work runs or none
	// waits.
	ch chan struct{}
}

// started wakes whoever waits for work: busyAdd calls it when the run
// goes from settled to busy.
func (w *workSignal) started() {
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
	w.mu.Unlock()
}

// whenWorkStarts returns a channel closed once work starts again, or
// nil while the run works (or has not started).
func (e *Engine) whenWorkStarts() <-chan struct{} {
	e.workSig.mu.Lock()
	defer e.workSig.mu.Unlock()
	// Read under the lock busyAdd's started takes after counting: a
	// start between the two is seen either here or by the channel.
	if e.busy.Load() > 0 || e.started.IsZero() {
		return nil
	}
	if e.workSig.ch == nil {
		e.workSig.ch = make(chan struct{})
	}
	return e.workSig.ch
}

// sleepWhileSettled blocks while the run is settled, until work starts
// again or ctx ends (false).
func (e *Engine) sleepWhileSettled(ctx context.Context, settled <-chan struct{}) bool {
	select {
	case <-settled:
		return true
	case <-ctx.Done():
		return false
	}
}

// Idle blocks while the run is settled and nothing changes it by itself,
// and returns once work starts again (a retry, a resume), the run is
// stopped, or ctx ends: a finished monitor waits on it instead of polling.
// A run held by Redis (Held) is not idle while Redis is down: its prober
// goes on, and so does the time Redis has been down.
func (e *Engine) Idle(ctx context.Context) {
	ch := e.whenWorkStarts()
	if ch == nil {
		return
	}
	if held, down, _ := e.Held(); held && down > 0 {
		return
	}
	select {
	case <-ch:
	case <-e.stopCtx.Done():
	case <-ctx.Done():
	}
}
