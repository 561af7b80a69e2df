package warmup

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cachewarm/cachewarm/warmup/fetch"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// Stage names the step an item failed in.
type Stage string

// The stages of an item's path.
const (
	StageSource      Stage = "source"
	StageKey         Stage = "key"
	StageURL         Stage = "url"
	StageFetch       Stage = "fetch"
	StageRedis       Stage = "redis"
	StageInterrupted Stage = "interrupted"
	StageInternal    Stage = "internal"
)

// Rejection is one rejected item, kept for the failure view, the report
// and retry. Fulfilled items are never kept.
type Rejection struct {
	// Item is the item as a JSON value.
	Item     json.RawMessage `json:"item"`
	Key      string          `json:"key"`
	Reason   string          `json:"reason"`
	Attempts int             `json:"attempts"`
	// Stage is the step that failed: source, key, url, fetch, redis,
	// interrupted or internal. Items rejected at the source (a malformed
	// line) are not retried: reading the file again is the fix.
	Stage Stage `json:"stage"`
	// Where is the source position (file:line) when the item came from a
	// file.
	Where string `json:"where,omitempty"`
	// Exact is the item's exact bytes (base64 in JSON), only when Item
	// cannot say them: a JSONL line whose spacing or escapes JSON would
	// change, or text that is not UTF-8. A retry writes what a clean run
	// writes.
	Exact []byte `json:"exact,omitempty"`
}

// itemError is why one attempt of one item failed.
type itemError struct {
	stage     Stage
	msg       string
	transient bool
	// retryAfter is the least wait before the next attempt that the
	// origin asked for (Retry-After); 0 leaves it to the backoff.
	retryAfter time.Duration
}

func (e *itemError) Error() string { return e.msg }

// fetchFailure is why a fetch of url failed: "fetch GET url: cause".
func fetchFailure(url string, err *fetch.Error) *itemError {
	if err.BadURL {
		return &itemError{stage: StageURL, msg: fmt.Sprintf("url template: %q is not an http(s) URL", url)}
	}
	return &itemError{stage: StageFetch, transient: err.Transient, retryAfter: err.RetryAfter, msg: "fetch GET " + url + ": " + err.Cause}
}

// writeFailure is why a SET of key failed: "redis SET key: cause", the
// cause naming the Redis when it did not answer.
func (e *Engine) writeFailure(key string, err error) *itemError {
	class := rediswrite.Classify(err)
	return &itemError{stage: StageRedis, transient: class == rediswrite.Retry || class == rediswrite.Unavailable,
		msg: "redis SET " + key + ": " + e.redisCause(err)}
}

// redisCause is rediswrite.CauseAt for the Redis the run writes to.
func (e *Engine) redisCause(err error) string {
	addr := ""
	if e.rdb != nil {
		addr = e.rdb.Addr()
	}
	return rediswrite.CauseAt(addr, err, e.cfg.Run.Timeout)
}
