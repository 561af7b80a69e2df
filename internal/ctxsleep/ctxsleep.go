// Package ctxsleep is the one wait that a stop cuts short: backoffs,
// probes and simulated latency all sleep through it, so none of them
// keeps a stopped run, or a timer, alive.
package ctxsleep

import (
	"context"
	"time"
)

// Sleep waits d unless ctx ends first; it reports whether ctx is still
// live (false: stop waiting, and stop). A d of 0 or less does not wait.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}
