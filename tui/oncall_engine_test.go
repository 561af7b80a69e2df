package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup"
)

// The engine half of issue #24's on-call findings, as the screen shows it.

// heldDraining is a held run right after the gate gave up: the hung
// loader's fetches still drain, a paced loader still has items queued
// for its rate, and a Redis restart put the fulfilled keys in doubt.
func heldDraining() warmup.Snapshot {
	return totals(warmup.Snapshot{
		Redis:      "redis://127.0.0.1:6379/0",
		State:      warmup.StateStopping,
		StopReason: "Redis unavailable for 5.7s: redis 127.0.0.1:6379: connection refused",
		RedisDown:  9 * time.Second,
		RedisCause: "redis 127.0.0.1:6379: connection refused",
		Elapsed:    12 * time.Second,
		Restarts:   &warmup.RestartCheck{Restarts: 1, InDoubt: true},
		Loaders: []warmup.LoaderSnapshot{
			{Name: "recs-hang", Source: "list of 6 → hung", Total: 6, Read: 6, InFlight: 6, OldestInFlight: 12 * time.Second, SourceRead: true},
			{Name: "sessions-acl", Source: "range 1..400", Total: 400, Read: 80, Fulfilled: 44, Queued: 36, SourceRead: true, NotStarted: 320},
		},
	})
}

// Once the gate gives up, the header says stopped and the tiles
// "stopping · N in flight", at once, not "waiting for Redis"/"running"
// until the fetches drain; a paced loader's queue is not in flight; the
// fulfilled count says it is in doubt until the re-check ran.
func TestHeldRunDrainingOnScreen(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{120, 36}, {200, 50}} {
		v := startSeeded(t, heldDraining(), sz.w, sz.h).view()
		for _, want := range []string{"stopped: Redis unavailable for 5.7s", "stopping · 6 in flight", "36 waiting to start", "(in doubt: Redis restarted)"} {
			if !strings.Contains(v, want) {
				t.Errorf("%dx%d: no %q:\n%s", sz.w, sz.h, want, v)
			}
		}
		for _, stale := range []string{"waiting for Redis", "● running", "36 in flight"} {
			if strings.Contains(v, stale) {
				t.Errorf("%dx%d: %q shown for a stopped run:\n%s", sz.w, sz.h, stale, v)
			}
		}
	}
}
