package warmup

import (
	"bytes"
	"strings"
	"time"
)

// CauseLost is the cause of an item whose key a Redis restart or
// failover lost: the monitor tells its rewrites from other retries by it.
const CauseLost = causeLost

// maxAttemptHistory is how many of its failed attempts a rejected item
// keeps: the latest, enough to see a cause change or repeat, bounded so
// that an item retried all night does not grow.
const maxAttemptHistory = 5

// recordAttempt notes x's failed attempt why, once per attempt number,
// keeping the latest maxAttemptHistory.
func (x *item) recordAttempt(why *itemError) {
	if why == nil {
		return
	}
	if n := len(x.history); n > 0 && x.history[n-1].N == x.attempts {
		return
	}
	if len(x.history) == maxAttemptHistory {
		// A fresh slice: the history may be a rejection's, shared
		// with the store it was revived from.
		x.history = append([]Attempt(nil), x.history[1:]...)
	}
	x.history = append(x.history, Attempt{N: x.attempts, At: time.Now(), Error: why.msg})
}

// redactHistory is h with the config's secrets redacted from its errors,
// as a rejection's reason is.
func (e *Engine) redactHistory(h []Attempt) []Attempt {
	if len(h) == 0 {
		return nil
	}
	secrets := e.cfg.Secrets()
	out := make([]Attempt, len(h))
	for i, a := range h {
		a.Error = secrets.Redact(a.Error)
		out[i] = a
	}
	return out
}

// RetryItem re-runs, asynchronously, one rejected item of a loader: r as
// Rejections returned it (its journal position, key and item name it).
// It takes the same path as Retry, and returns 1 when the item was
// queued, 0 when it is no longer rejected (or was rejected at the
// source, which a retry reads the same).
func (e *Engine) RetryItem(loader string, r Rejection) int {
	lr, ok := e.byName[loader]
	if !ok || e.stopCtx.Err() != nil || r.Stage == StageSource {
		return 0
	}
	return e.retryMatching([]*loaderRun{lr}, func(lr *loaderRun) *rejectionSource {
		return lr.takeMatching(func(c Rejection, seq int64) bool {
			return seq == r.Seq && c.Stage != StageSource && c.Key == r.Key && bytes.Equal(c.Item, r.Item)
		})
	})
}

// interruptedDetail is the command of the failed attempt an interrupted
// item's reason keeps ("GET /p/3", "SET ok:flaky:247"), as other causes'
// examples read; "" when it kept none.
func interruptedDetail(r Rejection) string {
	if r.Stage != StageInterrupted {
		return ""
	}
	rest, ok := strings.CutPrefix(r.Reason, "interrupted after a failed attempt: ")
	if !ok {
		return ""
	}
	attempt, cause, ok := strings.Cut(rest, ": ")
	if !ok {
		return ""
	}
	return Rejection{Reason: attempt + ": " + cause, Cause: cause}.Detail()
}
