package warmup

import (
	"strings"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
)

// TTLRange is the shortest and the longest TTL a loader writes, in
// milliseconds: equal without a ttl_jitter, apart by twice the jitter
// with one, the window over which keys warmed together expire.
type TTLRange struct {
	MinMs int64 `json:"min_ms"`
	MaxMs int64 `json:"max_ms"`
}

// ttlRange is l's TTLRange for a report, nil when its keys never expire.
func ttlRange(l *config.Loader) *TTLRange {
	lo, hi := l.TTLRange()
	if hi <= 0 {
		return nil
	}
	return &TTLRange{MinMs: lo.Milliseconds(), MaxMs: hi.Milliseconds()}
}

// String is the range as people write durations: "54m–1h6m", or "1h"
// when every key gets the same TTL.
func (r TTLRange) String() string {
	lo, hi := shortDuration(time.Duration(r.MinMs)*time.Millisecond), shortDuration(time.Duration(r.MaxMs)*time.Millisecond)
	if lo == hi {
		return lo
	}
	return lo + "–" + hi
}

// spreadTTL is the loader's TTL range for a snapshot, "" when it has no
// ttl_jitter: the monitor shows it only when keys' TTLs differ.
func spreadTTL(l *config.Loader) string {
	if l.TTLJitter == 0 {
		return ""
	}
	return ttlRange(l).String()
}

// shortDuration drops a Duration's zero tails: "1h6m", not "1h6m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
