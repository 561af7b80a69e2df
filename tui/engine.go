package tui

import (
	"context"

	"github.com/cachewarm/cachewarm/warmup"
)

// Engine is what the monitor needs from a run.
type Engine interface {
	// Snapshot returns the run's counters. It is cheap (O(loaders)); the
	// monitor calls it on every tick.
	Snapshot() warmup.Snapshot
	// Rejections returns a copy of that loader's rejected items. The
	// monitor calls it only while the loader's failure view is open, and at
	// most once per tick.
	Rejections(loader string) []warmup.Rejection
	// Retry re-runs, asynchronously, the rejected items of the given
	// loaders (all loaders when none is given) and returns how many items
	// were queued; 0 when nothing was rejected.
	Retry(loaders ...string) int
	// RetryCause is Retry for the rejected items with that cause only
	// (warmup.Rejection.Cause).
	RetryCause(cause string, loaders ...string) int
	// RetryItem is Retry for one rejected item of the loader, r as
	// Rejections returned it; it returns 1 when queued, 0 when the item
	// is no longer rejected.
	RetryItem(loader string, r warmup.Rejection) int
	// Resume reads on, asynchronously, the sources that Redis stopped (the
	// run held after run.redis_wait), each from where it stopped, and
	// returns how many loaders it resumed; 0 when none stopped.
	Resume() int
	// Idle blocks while the run is settled and nothing changes it by
	// itself, until work starts again, the run is stopped, or ctx ends: a
	// finished monitor waits on it rather than polling. It may return
	// early (a run held while Redis is down keeps changing).
	Idle(ctx context.Context)
	// Stop cancels the run gracefully: no new items are taken, in-flight
	// items settle or are rejected as "interrupted".
	Stop()
}
