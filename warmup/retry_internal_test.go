package warmup

import (
	"testing"
	"time"
)

// An origin's Retry-After is waited out when longer than the backoff,
// but never past maxRetryAfter: an hour's Retry-After waits a minute.
func TestRetryDelay(t *testing.T) {
	tests := []struct {
		backoff, retryAfter, want time.Duration
	}{
		{250 * time.Millisecond, 0, 250 * time.Millisecond},
		{250 * time.Millisecond, 2 * time.Second, 2 * time.Second},
		{3 * time.Second, time.Second, 3 * time.Second},
		{250 * time.Millisecond, time.Hour, time.Minute},
		{2 * time.Minute, time.Hour, 2 * time.Minute},
	}
	for _, tc := range tests {
		if got := retryDelay(tc.backoff, tc.retryAfter); got != tc.want {
			t.Errorf("retryDelay(%v, %v) = %v, want %v", tc.backoff, tc.retryAfter, got, tc.want)
		}
	}
}
