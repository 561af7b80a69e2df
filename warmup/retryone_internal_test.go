package warmup

import "testing"

// An interrupted item's example names the command its failed attempt
// ran, as other causes' examples do, not a bare key.
func TestInterruptedExampleNamesTheCommand(t *testing.T) {
	for _, tt := range []struct{ reason, want string }{
		{"interrupted after a failed attempt: redis SET ok:flaky:247: redis 127.0.0.1:6379: connection refused", "SET ok:flaky:247"},
		{"interrupted after a failed attempt: fetch GET http://o/p/3: 503 Service Unavailable", "GET /p/3"},
		{"interrupted", "ok:flaky:247"},
	} {
		r := Rejection{Key: "ok:flaky:247", Reason: tt.reason, Cause: "interrupted", Stage: StageInterrupted}
		if got := example(r); got != tt.want {
			t.Errorf("%q: example %q, want %q", tt.reason, got, tt.want)
		}
	}
}
