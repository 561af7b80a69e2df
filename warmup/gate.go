package warmup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// errGaveUp fails the writes still waiting when the run stops waiting for
// Redis.
var errGaveUp = errors.New("gave up waiting for Redis")

// gate is the run's view of Redis as a whole. When a write fails because
// Redis is unavailable (rediswrite.Unavailable), the gate closes: feeders
// stop reading, writers hold their batches, and the item is held instead
// of spending an attempt. A prober pings with backoff; when Redis answers
// the gate opens and held items are written again. A timeout alone is no
// proof of an outage (one slow pipeline): unless a probe failed too, items
// held after a timeout are charged an attempt as any transient failure
// is. An item caught in more than maxOutages outages is charged too, so
// that a write that itself breaks the connection cannot loop forever.
// After run.redis_wait closed, the gate gives up and stops the run.
type gate struct {
	e      *Engine
	closed atomic.Bool

	mu sync.Mutex
	// opened is closed (the channel) when the gate opens or gives up.
	opened    chan struct{}
	since     time.Time
	cause     string
	confirmed bool
	gaveUp    bool
	held      []*item
	// waited is how long the gate was closed before, in all.
	waited time.Duration
}

// maxOutages is how many outages an item may wait out without being
// charged an attempt.
const maxOutages = 5

func newGate(e *Engine) *gate { return &gate{e: e} }

// hold keeps x until Redis answers again, closing the gate if it is open.
func (g *gate) hold(x *item, err error) {
	g.mu.Lock()
	if g.gaveUp {
		g.mu.Unlock()
		g.rejectHeld(x)
		return
	}
	if !g.closed.Load() {
		g.closed.Store(true)
		g.opened = make(chan struct{})
		g.since = time.Now()
		// A refused, reset or closed connection, or a reply saying Redis
		// cannot write, is an outage already; a timeout needs a probe to
		// fail as well.
		g.confirmed = !rediswrite.IsTimeout(err)
		g.cause = g.causeOf(err)
		go g.probe()
	}
	g.held = append(g.held, x)
	g.mu.Unlock()
}

// waitOpen blocks while the gate is closed; false when ctx ended or the
// gate gave up.
func (g *gate) waitOpen(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	if !g.closed.Load() {
		return true
	}
	return g.wait(ctx) == nil
}

// wait blocks while the gate is closed: the writer calls it before every
// pipeline. It returns errGaveUp after the gate gave up, or ctx's error.
func (g *gate) wait(ctx context.Context) error {
	for g.closed.Load() {
		g.mu.Lock()
		ch := g.opened
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gaveUp {
		return errGaveUp
	}
	return nil
}

// probe asks Redis with backoff whether it takes writes again (a cluster:
// every master, with the cluster ok; a sentinel master: the one the
// sentinels name now) until it does, the run stops, or run.redis_wait
// passes.
func (g *gate) probe() {
	e := g.e
	delay := 50 * time.Millisecond
	for {
		select {
		case <-time.After(delay):
		case <-e.stopCtx.Done():
			g.giveUp(false)
			return
		}
		ctx, cancel := context.WithTimeout(e.stopCtx, min(e.cfg.Run.Timeout, 2*time.Second))
		err := e.rdb.Probe(ctx)
		cancel()
		if err == nil {
			g.open()
			return
		}
		if e.stopCtx.Err() != nil {
			g.giveUp(false)
			return
		}
		g.mu.Lock()
		g.confirmed = true
		g.cause = g.causeOf(err)
		expired := time.Since(g.since) >= e.cfg.Run.RedisWait
		g.mu.Unlock()
		if expired {
			g.giveUp(true)
			return
		}
		delay = min(delay*2, time.Second)
	}
}

// open lets work flow again and writes the held items: again without
// charging them after a real outage, as a transient failure after a blip.
func (g *gate) open() {
	// Redis may be another process now, without the writes the old one
	// acknowledged: say so before writing on.
	g.e.noteIdentity()
	g.mu.Lock()
	held, confirmed := g.held, g.confirmed
	g.held = nil
	g.waited += time.Since(g.since)
	g.closed.Store(false)
	close(g.opened)
	g.mu.Unlock()
	for _, x := range held {
		g.release(x, confirmed)
	}
}

// release writes x again after an outage, or charges it an attempt.
func (g *gate) release(x *item, confirmed bool) {
	defer g.e.recoverItem(x)
	x.outages++
	if confirmed && x.outages <= maxOutages && g.e.stopCtx.Err() == nil {
		g.e.submit(x)
		return
	}
	g.e.failed(x, x.last)
}

// causeOf is the outage's cause as the header shows it, without secrets.
func (g *gate) causeOf(err error) string {
	return g.e.cfg.Secrets().Redact(g.e.redisCause(err))
}

// giveUp rejects the held items with the outage's cause and fails the
// writes still waiting; stopRun (run.redis_wait passed) also stops the
// run, which records where every source stood.
func (g *gate) giveUp(stopRun bool) {
	g.mu.Lock()
	held := g.held
	g.held = nil
	g.gaveUp = true
	if g.closed.Load() {
		g.waited += time.Since(g.since)
	}
	g.closed.Store(false)
	close(g.opened)
	waited := time.Since(g.since).Round(time.Second)
	cause := g.cause
	reason := fmt.Sprintf("Redis unavailable for %s: %s", waited, cause)
	hold := stopRun && g.e.opts.HoldOnRedisWait
	if hold {
		// Before any item sees the gate given up: none may read as
		// interrupted.
		g.e.holdBecause(reason, g.since, cause)
	}
	g.mu.Unlock()
	if stopRun && !hold {
		g.e.stopBecause(reason)
	}
	for _, x := range held {
		g.rejectHeld(x)
	}
}

// rejectHeld rejects an item the gate held when it gave up: with the
// outage's cause when run.redis_wait passed, as interrupted when the run
// was stopped while it waited.
func (g *gate) rejectHeld(x *item) {
	g.mu.Lock()
	cause := g.cause
	g.mu.Unlock()
	if g.e.StopReason() == "" {
		msg := "interrupted while Redis was unavailable (" + cause + ")"
		g.e.reject(x, whole(StageInterrupted, msg))
		return
	}
	g.e.reject(x, failure(StageRedis, "redis "+x.op.Cmd.String()+" "+x.key, cause+" (gave up waiting for Redis)"))
}

// waitedFor is how long the gate has been closed in all, the current
// outage included.
func (g *gate) waitedFor() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.waited
	if g.closed.Load() {
		d += time.Since(g.since)
	}
	return d
}

// state says whether the gate is closed, since when, and why.
func (g *gate) state() (closed bool, since time.Time, cause string) {
	if !g.closed.Load() {
		return false, time.Time{}, ""
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed.Load(), g.since, g.cause
}
