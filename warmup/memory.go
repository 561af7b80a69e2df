package warmup

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// memoryWatch keeps a run from filling Redis past maxmemory. Under
// noeviction, a full Redis answers every further write with OOM: a run
// of a million items would collect a million rejections. The watch reads
// each master's used_memory while the run works and stops the run, the
// way run.redis_wait does (every source's resume point recorded, for
// --retry-from once memory is freed), when a master comes within
// memoryMargin of its maxmemory. Under an evicting policy it counts the
// keys Redis evicted during the run instead: warmed keys among them are
// cold again.
type memoryWatch struct {
	// evictedAtStart is the masters' evicted_keys when the watch began,
	// evicted the rise since; both -1 unless a master evicts.
	evictedAtStart, evicted atomic.Int64
	// policy is an evicting master's maxmemory_policy, for messages.
	policy atomic.Pointer[string]
}

// memoryPoll is how often the watch reads INFO memory: a bulk load adds
// a few MB a second, which the margin must cover between two readings.
const memoryPoll = 100 * time.Millisecond

// memoryMargin is how close to maxmemory a master may come before the
// run stops: 5% of it, at least 2 MiB (a few pipelines in flight, and
// Redis's own buffers).
func memoryMargin(m rediswrite.Memory) int64 { return max(m.Max/20, 2<<20) }

// startMemoryWatch reads the masters' memory as the run starts, before
// its first item is read (a Redis full already stops the run with every
// item not started), and watches it from then on when one of them has a
// maxmemory: nothing can fill the others in this sense.
func (e *Engine) startMemoryWatch() {
	e.mem.evictedAtStart.Store(-1)
	e.mem.evicted.Store(-1)
	ms, err := e.readMemory()
	if err != nil || !limited(ms) {
		return
	}
	if evictedAt, ok := evictedSum(ms); ok {
		e.mem.evictedAtStart.Store(evictedAt)
		e.mem.evicted.Store(0)
	}
	last := map[string]int64{}
	e.checkMemory(ms, last)
	go e.watchMemory(ms, last)
}

// watchMemory runs the watch until the engine closes.
func (e *Engine) watchMemory(ms []rediswrite.Memory, last map[string]int64) {
	tick := time.NewTicker(memoryPoll)
	defer tick.Stop()
	for {
		for _, m := range ms {
			last[m.Addr] = m.Used
		}
		select {
		case <-tick.C:
		case <-e.closeCtx.Done():
			return
		}
		if settled := e.whenWorkStarts(); settled != nil {
			// Nothing is written while the run is settled.
			tick.Stop()
			if !e.sleepWhileSettled(e.closeCtx, settled) {
				return
			}
			tick.Reset(memoryPoll)
		}
		next, err := e.readMemory()
		if err != nil {
			continue // Redis unavailable is the gate's business
		}
		ms = next
		e.checkMemory(ms, last)
	}
}

// readMemory reads every master's memory, within run.timeout.
func (e *Engine) readMemory() ([]rediswrite.Memory, error) {
	ctx, cancel := context.WithTimeout(e.closeCtx, e.cfg.Run.Timeout)
	defer cancel()
	return e.rdb.Memory(ctx)
}

// limited says whether any master has a maxmemory.
func limited(ms []rediswrite.Memory) bool {
	for _, m := range ms {
		if m.Max > 0 {
			return true
		}
	}
	return false
}

// evictedSum is the evicted_keys of the masters, when one of them evicts.
func evictedSum(ms []rediswrite.Memory) (int64, bool) {
	var n int64
	evicts := false
	for _, m := range ms {
		n += m.Evicted
		evicts = evicts || m.Evicts()
	}
	return n, evicts
}

// checkMemory counts evictions, and stops a working run when a
// noeviction master is about to refuse writes: when what it holds, plus
// three times its growth since the last reading (the next poll, then
// the items in flight that a stop lets settle), comes within
// memoryMargin of maxmemory. last holds each master's used_memory at
// the last reading.
func (e *Engine) checkMemory(ms []rediswrite.Memory, last map[string]int64) {
	e.countEvictions(ms)
	// A verify pass only reads: a full Redis does not stop it.
	if e.busy.Load() == 0 || e.verify.running.Load() || e.stopCtx.Err() != nil {
		return
	}
	for _, m := range ms {
		growth := int64(0)
		if before, ok := last[m.Addr]; ok {
			growth = max(0, m.Used-before)
		}
		if m.Policy == "noeviction" && m.Max > 0 && m.Used+3*growth+memoryMargin(m) >= m.Max {
			e.stopBecause(StopRedisMemory, fmt.Sprintf("Redis %s nearly full: used_memory %s of maxmemory %s (noeviction), stopped before writes fail with OOM; free memory or raise maxmemory, then --retry-from",
				m.Addr, mib(m.Used), mib(m.Max)))
			return
		}
	}
}

// countEvictions updates the count of keys evicted since the run began,
// when a master evicts.
func (e *Engine) countEvictions(ms []rediswrite.Memory) {
	if start := e.mem.evictedAtStart.Load(); start >= 0 {
		if n, _ := evictedSum(ms); n >= start {
			e.mem.evicted.Store(n - start)
		}
		for _, m := range ms {
			if m.Evicts() {
				e.mem.policy.Store(&m.Policy)
				break
			}
		}
	}
}

// finalEvictions reads the evictions once more as the run settles, so
// that the report counts those of its last moments too.
func (e *Engine) finalEvictions() {
	if e.mem.evictedAtStart.Load() < 0 {
		return
	}
	if ms, err := e.readMemory(); err == nil {
		e.countEvictions(ms)
	}
}

// EvictedDuringRun is how many keys Redis evicted since the run started,
// and its maxmemory_policy, when it evicts (an allkeys-* or volatile-*
// policy); -1 otherwise.
func (e *Engine) EvictedDuringRun() (int64, string) {
	n := e.mem.evicted.Load()
	if p := e.mem.policy.Load(); p != nil && n >= 0 {
		return n, *p
	}
	return -1, ""
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
