package warmup

// Stop says why a run was stopped while it worked, for Options.OnStop.
type Stop struct {
	// Why is what stopped it: StopInterrupt, StopRedisWait or
	// StopRedisMemory.
	Why string `json:"why"`
	// Reason says more when the run stopped by itself ("Redis
	// unavailable for 11s: redis 127.0.0.1:6379: connection refused"),
	// "" for an interrupt.
	Reason string `json:"reason,omitempty"`
	// Seconds is, for StopRedisWait, how long Redis had been unavailable:
	// the outage's Seconds, to the tenth.
	Seconds float64 `json:"seconds,omitempty"`
}

// What stops a run.
const (
	// StopInterrupt: Stop or Kill (a signal; the monitor's q).
	StopInterrupt = "interrupt"
	// StopRedisWait: Redis was unavailable for longer than
	// run.redis_wait.
	StopRedisWait = "redis_wait"
	// StopRedisMemory: Redis was nearly full under noeviction (the
	// memory watch during every run; --require-headroom is the check
	// before it).
	StopRedisMemory = "redis_memory"
)
