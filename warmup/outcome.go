package warmup

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cachewarm/cachewarm/warmup/fetch"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// Stage names the step an item failed in.
type Stage string

// The stages of an item's path.
const (
	StageSource Stage = "source"
	StageKey    Stage = "key"
	StageURL    Stage = "url"
	StageFetch  Stage = "fetch"
	// StageValue is a value the loader cannot store: its value template
	// failed, or a hash loader's value is not a JSON object.
	StageValue       Stage = "value"
	StageRedis       Stage = "redis"
	StageInterrupted Stage = "interrupted"
	StageInternal    Stage = "internal"
)

// Rejection is one rejected item, kept for the failure view, the report
// and retry. Fulfilled items are never kept.
type Rejection struct {
	// Item is the item as a JSON value, always UTF-8: bytes of the item
	// that are not UTF-8 show as U+FFFD here and are kept in Exact.
	Item json.RawMessage `json:"item"`
	Key  string          `json:"key"`
	// Reason is the whole story: what was tried and why it failed
	// ("fetch GET http://origin/p/10: 404 Not Found").
	Reason string `json:"reason"`
	// Cause is the part of Reason that many items share ("404 Not
	// Found", "timeout after 2s", "redis 10.0.0.5:6379: connection
	// refused"): no item's URL, key or position, so that failures group
	// by it. Reports written before it existed have it derived (see
	// deriveCause).
	Cause    string `json:"cause,omitempty"`
	Attempts int    `json:"attempts"`
	// Stage is the step that failed: source, key, url, fetch, value, redis,
	// interrupted or internal. Items rejected at the source (a malformed
	// line) are not retried: reading the file again is the fix.
	Stage Stage `json:"stage"`
	// Where is the source position (file:line) when the item came from a
	// file.
	Where string `json:"where,omitempty"`
	// Exact is the item's exact bytes (base64 in JSON), only when Item
	// cannot say them: a JSONL line whose spacing or escapes JSON would
	// change, or an item (a text line, a CSV record, a JSONL line, a SQL
	// row) that is not UTF-8. A retry writes what a clean run writes.
	Exact []byte `json:"exact,omitempty"`
	// History is the item's latest failed attempts, oldest first, at
	// most maxAttemptHistory of them: when each failed and why. Only
	// rejected items keep it.
	History []Attempt `json:"history,omitempty"`
	// Seq is the item's place in the journal (see RetryItem); the
	// journal records it beside the rejection.
	Seq int64 `json:"-"`
}

// Attempt is one failed attempt of a rejected item.
type Attempt struct {
	// N is the attempt's number among all the item's attempts.
	N     int       `json:"n"`
	At    time.Time `json:"at"`
	Error string    `json:"error"`
}

// Detail is the item's own part of the reason, shortened for a line
// beside the cause: "GET /products/10" (the loader names the host),
// "SET product:10", "items.jsonl:12"; "" when the reason has no part
// beyond its cause.
func (r Rejection) Detail() string {
	d, ok := strings.CutSuffix(r.Reason, ": "+r.Cause)
	if !ok || r.Cause == "" {
		return ""
	}
	if u, ok := strings.CutPrefix(d, "fetch GET "); ok {
		return "GET " + pathOf(u)
	}
	if k, ok := strings.CutPrefix(d, "redis "); ok {
		return k
	}
	return d
}

// pathOf is a URL without its scheme and host: "/p/10?x=1".
func pathOf(u string) string {
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return rest[i:]
	}
	return u
}

// deriveCause finds the cause in the reason of a rejection recorded
// before causes were: the reason builders below put it after the first
// ": " of a fetch's or a write's reason, and after the position of an
// item rejected at the source.
func deriveCause(r Rejection) string {
	switch r.Stage {
	case StageFetch, StageRedis:
		if _, c, ok := strings.Cut(r.Reason, ": "); ok {
			return c
		}
	case StageSource:
		if c, ok := strings.CutPrefix(r.Reason, r.Where+": "); ok && r.Where != "" {
			return c
		}
	}
	return r.Reason
}

// itemError is why one attempt of one item failed: msg is the reason,
// cause the part of it that groups (see Rejection.Cause).
type itemError struct {
	stage     Stage
	msg       string
	cause     string
	transient bool
	// retryAfter is the least wait before the next attempt that the
	// origin asked for (Retry-After); 0 leaves it to the backoff.
	retryAfter time.Duration
}

func (e *itemError) Error() string { return e.msg }

// fetchFailure is why a fetch of url failed: "fetch GET url: cause".
func fetchFailure(url string, err *fetch.Error) *itemError {
	if err.BadURL {
		return &itemError{stage: StageURL, msg: fmt.Sprintf("url template: %q is not an http(s) URL", url), cause: "url template: not an http(s) URL"}
	}
	return &itemError{stage: StageFetch, transient: err.Transient, retryAfter: err.RetryAfter, msg: "fetch GET " + url + ": " + err.Cause, cause: err.Cause}
}

// checkHost rejects url when hosts (nil: any) do not allow its host: "url
// URL: host not allowed: other.example", before any request.
func checkHost(hosts *fetch.Hosts, url string) *itemError {
	if hosts == nil {
		return nil
	}
	if err := hosts.Check(url); err != nil {
		return &itemError{stage: StageURL, msg: "url " + url + ": " + err.Error(), cause: err.Error()}
	}
	return nil
}

// failure is an item error whose reason is "what: cause".
func failure(stage Stage, what, cause string) *itemError {
	return &itemError{stage: stage, msg: what + ": " + cause, cause: cause}
}

// whole is an item error whose whole reason is also its cause.
func whole(stage Stage, msg string) *itemError {
	return &itemError{stage: stage, msg: msg, cause: msg}
}

// interrupted is the failure of an item the run stopped before it
// settled.
func interrupted() *itemError { return whole(StageInterrupted, "interrupted") }

// interruptedAfter is interrupted for an item whose last attempt failed
// (last, nil for none): its reason keeps that attempt's, so that the real
// cause (a 500, a timeout) is not lost to the stop. The cause stays
// "interrupted", which is what groups these items and what --retry-from
// retries.
func interruptedAfter(last *itemError) *itemError {
	ie := interrupted()
	if last != nil {
		ie.msg = "interrupted after a failed attempt: " + last.msg
	}
	return ie
}

// writeFailure is why op failed: "redis SET key: cause", the cause
// naming the Redis when it did not answer.
func (e *Engine) writeFailure(op *rediswrite.Op, err error) *itemError {
	class := rediswrite.Classify(err)
	ie := failure(StageRedis, "redis "+op.Cmd.String()+" "+op.Key, e.redisCause(err))
	ie.transient = class == rediswrite.Retry || class == rediswrite.Unavailable
	return ie
}

// redisCause is rediswrite.CauseAt for the Redis the run writes to.
func (e *Engine) redisCause(err error) string {
	addr := ""
	if e.rdb != nil {
		addr = e.rdb.Addr()
	}
	return rediswrite.CauseAt(addr, err, e.cfg.Run.Timeout)
}
