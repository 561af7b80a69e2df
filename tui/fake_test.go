package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cachewarm/cachewarm/warmup"
)

// fakeEngine returns fixed snapshots and records the calls it gets. It is
// safe for use from the program's goroutine and the test's.
type fakeEngine struct {
	mu          sync.Mutex
	snap        warmup.Snapshot
	rejections  map[string][]warmup.Rejection
	retryResult int

	snapshots      int
	rejectionCalls []string
	retryCalls     [][]string
	causeCalls     []string
	itemCalls      []string
	stops          int
	resumes        int
	// changed is closed by set, for Idle.
	changed chan struct{}
}

func newFake(s warmup.Snapshot) *fakeEngine {
	return &fakeEngine{snap: s, rejections: map[string][]warmup.Rejection{}, retryResult: -1}
}

func (f *fakeEngine) Snapshot() warmup.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snapshots++
	s := f.snap
	s.Loaders = slices.Clone(s.Loaders)
	return s
}

// Resume counts the call and returns the loaders with items not started.
func (f *fakeEngine) Resume() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumes++
	n := 0
	for _, l := range f.snap.Loaders {
		if l.NotStarted != 0 {
			n++
		}
	}
	return n
}

func (f *fakeEngine) Rejections(loader string) []warmup.Rejection {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejectionCalls = append(f.rejectionCalls, loader)
	return slices.Clone(f.rejections[loader])
}

// Retry returns retryResult, or the number of rejected items of the
// loaders when retryResult is negative.
func (f *fakeEngine) Retry(loaders ...string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retryCalls = append(f.retryCalls, loaders)
	if f.retryResult >= 0 {
		return f.retryResult
	}
	n := 0
	for _, l := range f.snap.Loaders {
		if len(loaders) == 0 || slices.Contains(loaders, l.Name) {
			n += int(l.Rejected)
		}
	}
	return n
}

// RetryCause records "loader: cause" and returns what Retry would for the
// loader.
func (f *fakeEngine) RetryCause(cause string, loaders ...string) int {
	f.mu.Lock()
	f.causeCalls = append(f.causeCalls, strings.Join(loaders, ",")+": "+cause)
	f.mu.Unlock()
	n := 0
	for _, l := range f.Snapshot().Loaders {
		if len(loaders) == 0 || slices.Contains(loaders, l.Name) {
			for _, c := range l.Causes {
				if c.Cause == cause {
					n += int(c.Count)
				}
			}
		}
	}
	return n
}

// RetryItem records "loader: key" and returns 1 while the item is among
// the loader's rejections.
func (f *fakeEngine) RetryItem(loader string, r warmup.Rejection) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.itemCalls = append(f.itemCalls, loader+": "+r.Key)
	for _, x := range f.rejections[loader] {
		if x.Key == r.Key {
			return 1
		}
	}
	return 0
}

func (f *fakeEngine) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops++
}

func (f *fakeEngine) set(s warmup.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap = s
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
}

// Idle returns once set changes the snapshot, or ctx ends; at once
// when the run is stopped, as the engine's does.
func (f *fakeEngine) Idle(ctx context.Context) {
	f.mu.Lock()
	if f.snap.Stopped {
		f.mu.Unlock()
		return
	}
	if f.changed == nil {
		f.changed = make(chan struct{})
	}
	ch := f.changed
	f.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

func (f *fakeEngine) calls() (stops int, retries [][]string, rejections []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stops, slices.Clone(f.retryCalls), slices.Clone(f.rejectionCalls)
}

// totals fills the snapshot's totals from its loaders.
func totals(s warmup.Snapshot) warmup.Snapshot {
	s.Fulfilled, s.Rejected, s.Pending = 0, 0, 0
	for _, l := range s.Loaders {
		s.Fulfilled += l.Fulfilled
		s.Rejected += l.Rejected
		if l.Total >= 0 {
			s.Pending += l.Total - l.Settled()
		} else {
			s.Pending += l.Read - l.Settled()
		}
	}
	return s
}

// midRun is a run in progress: a streaming file, a range, a finished
// list, a loader with rejections and one being retried.
func midRun() warmup.Snapshot {
	return totals(warmup.Snapshot{
		Redis:   "redis://:***@cache.internal:6379/0",
		State:   warmup.StateRunning,
		Elapsed: 12*time.Second + 400*time.Millisecond,
		Rate:    342.7,
		Loaders: []warmup.LoaderSnapshot{
			{
				Name: "products", Source: "products.jsonl → api.shop.test",
				Total: -1, Read: 1340, Fulfilled: 1200, Rejected: 3, InFlight: 8, OldestInFlight: 2 * time.Second,
				Rate: 120.5, P50: 12 * time.Millisecond, P95: 80 * time.Millisecond,
				LastReason: "fetch GET https://api.shop.test/products/871: 503 Service Unavailable", LastCause: "503 Service Unavailable",
				Causes: []warmup.CauseCount{
					{Cause: "503 Service Unavailable", Stage: warmup.StageFetch, Count: 2, Example: "GET /products/871"},
					{Cause: "timeout after 5s", Stage: warmup.StageFetch, Count: 1, Example: "GET /products/12"},
				},
			},
			{
				Name: "users", Source: "range 1..5000 → users.svc",
				Total: 5000, Read: 2600, Fulfilled: 2500, InFlight: 16, OldestInFlight: 1400 * time.Millisecond,
				Rate: 210, P50: 8 * time.Millisecond, P95: 31 * time.Millisecond,
			},
			{
				Name: "prices", Source: "list of 12",
				Total: 12, Read: 12, Fulfilled: 12, Done: true,
				P50: 950 * time.Microsecond, P95: 2 * time.Millisecond,
			},
			{
				Name: "sessions", Source: "sessions.jsonl",
				Total: 800, Read: 800, Fulfilled: 770, Rejected: 30, Done: true,
				P50: 3 * time.Millisecond, P95: 9 * time.Millisecond,
				LastReason: "redis SET session:88: OOM command not allowed when used memory > 'maxmemory'",
				LastCause:  "OOM command not allowed when used memory > 'maxmemory'",
				Causes: []warmup.CauseCount{
					{Cause: "OOM command not allowed when used memory > 'maxmemory'", Stage: warmup.StageRedis, Count: 20, Example: "SET session:80"},
					{Cause: "redis 10.0.0.5:6379: connection refused", Stage: warmup.StageRedis, Count: 7, Example: "SET session:81"},
					{Cause: "invalid character 'x' looking for beginning of value", Stage: warmup.StageSource, Count: 3, Example: "sessions.jsonl:12"},
				},
			},
			{
				Name: "homepage", Source: "https://www.shop.test/",
				Total: 1, Read: 1, Rejected: 1, Retrying: 1, RetryAttempt: 2,
				LastReason: "fetch GET https://www.shop.test/: timeout after 5s", LastCause: "timeout after 5s",
				Causes: []warmup.CauseCount{{Cause: "timeout after 5s", Stage: warmup.StageFetch, Count: 1, Example: "GET /"}},
			},
		},
	})
}

// doneWithFailures is a finished run with rejections in two loaders.
func doneWithFailures() warmup.Snapshot {
	s := midRun()
	s.State = warmup.StateDone
	s.Elapsed = 41 * time.Second
	s.Rate = 0
	for i := range s.Loaders {
		l := &s.Loaders[i]
		if l.Total < 0 {
			l.Total = l.Read
		}
		l.Fulfilled = l.Total - l.Rejected
		l.InFlight, l.OldestInFlight, l.Retrying, l.RetryAttempt, l.Rate = 0, 0, 0, 0, 0
		l.Done = true
	}
	return totals(s)
}

// allFulfilled is a finished run without rejections.
func allFulfilled() warmup.Snapshot {
	s := doneWithFailures()
	for i := range s.Loaders {
		l := &s.Loaders[i]
		l.Fulfilled, l.Rejected, l.LastReason, l.LastCause, l.Causes = l.Total, 0, "", "", nil
	}
	return totals(s)
}

// sessionRejections are the rejected items of "sessions".
func sessionRejections(n int) []warmup.Rejection {
	rs := make([]warmup.Rejection, n)
	for i := range rs {
		id := 80 + i
		item, _ := json.Marshal(map[string]any{"id": id, "user": fmt.Sprintf("u%03d", i)})
		rs[i] = warmup.Rejection{
			Item:     item,
			Key:      fmt.Sprintf("session:%d", id),
			Reason:   fmt.Sprintf("redis SET session:%d: OOM command not allowed when used memory > 'maxmemory' (used_memory=%d, maxmemory=1073741824); the item was fetched in 3ms and is %d bytes", id, 1073741000+i, 2048+i),
			Cause:    fmt.Sprintf("OOM command not allowed when used memory > 'maxmemory' (used_memory=%d, maxmemory=1073741824); the item was fetched in 3ms and is %d bytes", 1073741000+i, 2048+i),
			Stage:    warmup.StageRedis,
			Attempts: 1 + i%3,
			Where:    fmt.Sprintf("sessions.jsonl:%d", 10+i),
		}
	}
	return rs
}
