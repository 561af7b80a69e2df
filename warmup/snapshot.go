package warmup

import (
	"encoding/json"
	"time"
)

// State is the phase a run is in.
type State string

// The states a run moves through.
const (
	StateRunning  State = "running"
	StateRetrying State = "retrying"
	StateDone     State = "done"
	// StateStopping is entered when the run was cancelled and in-flight
	// items are settling.
	StateStopping State = "stopping"
)

// Snapshot is a consistent-enough copy of the engine's counters, taken on a
// tick by a UI or a progress printer. Taking one costs O(loaders), never
// O(items).
type Snapshot struct {
	// Redis is the Redis target with any password redacted.
	Redis string
	// Demo is true when the run uses the embedded Redis or the simulated
	// origin.
	Demo  bool
	State State
	// Stopped is true once Stop was called: no new item or attempt starts,
	// and the run ends when the in-flight ones settle.
	Stopped bool
	Started time.Time
	// Elapsed is the time since the run started; it stops moving once
	// every item has settled.
	Elapsed   time.Duration
	Fulfilled int64
	Rejected  int64
	// Pending counts items read (or known to come) that have not settled.
	Pending int64
	// Rate is items settled per second over the last few seconds.
	Rate    float64
	Loaders []LoaderSnapshot
}

// LoaderSnapshot is one loader's counters.
type LoaderSnapshot struct {
	Name string
	// Source says what the loader reads: "products.jsonl", "list of 12",
	// "range 1..1000", plus the fetch host when it fetches.
	Source string
	// Total is the number of items when it is known up front (list,
	// range, a single URL), or -1 while a file is still streaming. Once
	// the source is exhausted it equals Read.
	Total     int64
	Read      int64
	Fulfilled int64
	Rejected  int64
	// InFlight counts items being fetched or written right now.
	InFlight int64
	// Retrying counts items in a retry pass (from Retry) not yet settled;
	// RetryAttempt is the highest attempt number among items being
	// retried.
	Retrying     int64
	RetryAttempt int
	// Rate is items settled per second over the last few seconds.
	Rate float64
	// P50 and P95 are the latencies of fulfilled items (fetch + write).
	P50, P95 time.Duration
	// LastReason is the reason of the most recent rejection, or "".
	LastReason string
	// Done is true when the source is exhausted and every item settled.
	Done bool
}

// Settled is fulfilled + rejected.
func (l LoaderSnapshot) Settled() int64 { return l.Fulfilled + l.Rejected }

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
}
