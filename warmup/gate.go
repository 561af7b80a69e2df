package warmup

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachewarm/cachewarm/internal/ctxsleep"
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
//
// The gate also keeps the run's outages: each from Redis's last good
// reply to its first good reply after (or to the stop), with one cause.
// Commands waiting past stallAfter without any reply start an outage too,
// before any error says so (a paused or hung Redis answers nothing until
// the timeout): that outage is shown and recorded, and changes no item.
type gate struct {
	e      *Engine
	closed atomic.Bool

	// lastGood is when Redis last answered (unix nanos): any reply but
	// one saying it cannot write. pending counts the commands handed to
	// the writer and not answered; busySince is when it last rose from 0.
	lastGood  atomic.Int64
	pending   atomic.Int64
	busySince atomic.Int64
	// stalled mirrors out != nil, read without the lock on every reply.
	stalled atomic.Bool

	mu sync.Mutex
	// opened is closed (the channel) when the gate opens or gives up.
	opened    chan struct{}
	since     time.Time
	cause     string
	confirmed bool
	gaveUp    bool
	// final is the one cause of every item the gate rejects once it
	// gave up, set with gaveUp: one outage reads as one cause.
	final string
	held  []*item
	// waited is how long the gate was closed before, in all.
	waited time.Duration
	// out is the outage under way, nil while Redis answers; outages are
	// the ended ones (the first maxRecorded), and more counts the rest.
	out     *Outage
	outages []Outage
	more    int
	// heldOut is 1 + the index in outages of the outage a held run gave
	// up on while Redis has not answered since, else 0: the prober's
	// first good reply ends it.
	heldOut int
}

// Outage is one time Redis did not answer.
type Outage struct {
	// Start is Redis's last good reply before it, or, when nothing was
	// asked of Redis for a while after that reply, when commands began
	// waiting again.
	Start time.Time `json:"start"`
	// End is Redis's first good reply after it (a held run's prober
	// hearing it too), or the stop when the run stopped while Redis was
	// still down; zero while it lasts.
	End time.Time `json:"end,omitzero"`
	// GaveUpAt is when run.redis_wait passed and the run gave up on it,
	// zero when it did not.
	GaveUpAt time.Time `json:"gave_up_at,omitzero"`
	// StillDown says Redis had not answered again when the record ended:
	// End is the stop (or, in a held run, the time the report was made).
	StillDown bool `json:"still_down,omitempty"`
	// Seconds is End - Start (so far, while it lasts), in tenths as
	// every text that says the outage's length (see outageSeconds).
	Seconds float64 `json:"seconds"`
	// Cause is why: the first cause seen, the one redis_waiting told,
	// kept to the end so that one outage reads as one cause
	// ("redis 127.0.0.1:6379: connection refused").
	Cause string `json:"cause"`
	// Outcome is how it ended: "back" (Redis answered again), "gave up"
	// (run.redis_wait passed: the run stopped), "stopped" (the run was
	// stopped while it waited); "" while it lasts.
	Outcome string `json:"outcome,omitempty"`
	// Shard is the shard whose run saw it, in a merged report.
	Shard *int `json:"shard,omitempty"`
}

// The outcomes of an outage.
const (
	OutageBack    = "back"
	OutageGaveUp  = "gave up"
	OutageStopped = "stopped"
)

// maxOutages is how many outages an item may wait out without being
// charged an attempt.
const maxOutages = 5

// stallAfter is how long commands may wait without any reply before the
// run shows Redis as unavailable: far above a healthy pipeline's round
// trip, and short enough that a paused Redis shows within a second.
const stallAfter = 750 * time.Millisecond

// stallEvery is how often the gate looks for a stall.
const stallEvery = 250 * time.Millisecond

// maxRecorded bounds the outages a run keeps: a flapping Redis must not
// grow the run's memory.
const maxRecorded = 100

func newGate(e *Engine) *gate { return &gate{e: e} }

// send hands op to the writer, counted as waiting for a reply.
func (e *Engine) send(op *rediswrite.Op) {
	e.gate.sent()
	e.w.Submit(op)
}

// sent counts one command waiting for a reply.
func (g *gate) sent() {
	if g.pending.Add(1) == 1 {
		g.busySince.Store(time.Now().UnixNano())
	}
}

// replied counts the writer's answer to one command: a good reply ends a
// stall (an outage no error announced).
func (g *gate) replied(err error) {
	g.pending.Add(-1)
	switch rediswrite.Classify(err) {
	case rediswrite.Unavailable, rediswrite.Interrupted:
		return
	}
	now := time.Now()
	g.lastGood.Store(now.UnixNano())
	if g.stalled.Load() && !g.closed.Load() {
		g.end(now, OutageBack, false)
	}
}

// waitingSince is when Redis's silence began: its last good reply, or,
// when nothing was asked of it for a while after that reply (more than
// stallAfter: a slow origin, a paced loader), when commands began waiting
// again; Redis cannot be said to be gone while nobody asked.
func (g *gate) waitingSince() time.Time {
	good, busy := g.lastGood.Load(), g.busySince.Load()
	switch {
	case good == 0 && busy == 0:
		return time.Now()
	case busy-good > int64(stallAfter):
		return time.Unix(0, busy)
	default:
		return time.Unix(0, good)
	}
}

// stallAt says whether, at now, commands have waited past stallAfter
// without any reply, and since when.
func (g *gate) stallAt(now time.Time) (bool, time.Time) {
	if g.pending.Load() <= 0 {
		return false, time.Time{}
	}
	since := g.waitingSince()
	return now.Sub(since) >= stallAfter, since
}

// stallCause is a stall's cause: no error yet, only silence.
func (g *gate) stallCause() string {
	if g.e.rdb != nil && g.e.rdb.Addr() != "" {
		return "redis " + g.e.rdb.Addr() + ": no reply"
	}
	return "no reply from Redis"
}

// watch looks for stalls until ctx ends, so that an outage no error has
// announced yet is recorded and told (OnRedisWaiting) as it starts.
func (g *gate) watch(ctx context.Context) {
	t := time.NewTicker(stallEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if g.stalled.Load() || g.closed.Load() {
				continue
			}
			if stalled, since := g.stallAt(now); stalled {
				g.mu.Lock()
				o := g.beginLocked(since, g.stallCause())
				g.mu.Unlock()
				g.tell(o, g.e.opts.OnRedisWaiting)
			}
		}
	}
}

// beginLocked starts an outage at since unless one is under way, with
// g.mu held; it returns the new one to tell, or nil.
func (g *gate) beginLocked(since time.Time, cause string) *Outage {
	if g.out != nil {
		return nil
	}
	g.out = &Outage{Start: since, Cause: cause}
	g.stalled.Store(true)
	o := *g.out
	return &o
}

// end ends the outage under way, if any, at now; locked says g.mu is
// held.
func (g *gate) end(now time.Time, outcome string, locked bool) {
	if !locked {
		g.mu.Lock()
	}
	o := g.out
	if o != nil {
		g.out = nil
		g.stalled.Store(false)
		o.End, o.Outcome = now, outcome
		o.Seconds = outageSeconds(now.Sub(o.Start))
		if len(g.outages) < maxRecorded {
			g.outages = append(g.outages, *o)
			if o.StillDown && g.e.opts.HoldOnRedisWait && outcome == OutageGaveUp {
				g.heldOut = len(g.outages)
			}
		} else {
			g.more++
		}
	}
	if !locked {
		g.mu.Unlock()
	}
	if o != nil && outcome == OutageBack {
		g.tell(o, g.e.opts.OnRedisBack)
	}
}

// tell calls hook with o, when both are set.
func (g *gate) tell(o *Outage, hook func(Outage)) {
	if o != nil && hook != nil {
		callback(func() { hook(*o) })
	}
}

// hold keeps x until Redis answers again, closing the gate if it is open.
func (g *gate) hold(x *item, err error) {
	g.mu.Lock()
	if g.gaveUp {
		g.mu.Unlock()
		g.rejectHeld(x)
		return
	}
	var begun *Outage
	if !g.closed.Load() {
		g.closed.Store(true)
		g.opened = make(chan struct{})
		// A refused, reset or closed connection, or a reply saying Redis
		// cannot write, is an outage already; a timeout needs a probe to
		// fail as well.
		g.confirmed = !rediswrite.IsTimeout(err)
		g.cause = g.causeOf(err)
		// The outage began when Redis last answered, not now: a timeout
		// comes run.timeout after the silence began. A stall may have
		// begun it already: its cause stays the outage's.
		begun = g.beginLocked(g.waitingSince(), g.cause)
		g.since = g.out.Start
		go g.probe()
	}
	g.held = append(g.held, x)
	g.mu.Unlock()
	g.tell(begun, g.e.opts.OnRedisWaiting)
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
		if !ctxsleep.Sleep(e.stopCtx, delay) {
			g.giveUp(false)
			return
		}
		ctx, cancel := context.WithTimeout(e.stopCtx, min(e.cfg.Run.Timeout, 2*time.Second))
		err := e.rdb.Probe(ctx)
		cancel()
		if err == nil {
			g.lastGood.Store(time.Now().UnixNano())
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
	now := time.Now()
	g.waited += now.Sub(g.since)
	g.closed.Store(false)
	close(g.opened)
	g.mu.Unlock()
	g.end(now, OutageBack, false)
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
// run, which records where every source stood. Every item the outage
// rejects, held now or failing later, gets one cause, fixed here.
func (g *gate) giveUp(stopRun bool) {
	g.mu.Lock()
	held := g.held
	g.held = nil
	g.gaveUp = true
	now := time.Now()
	if g.closed.Load() {
		g.waited += now.Sub(g.since)
	}
	g.closed.Store(false)
	close(g.opened)
	// The outage's one cause (its first) and length, as its record
	// says them: the stop, the items and the record agree.
	cause := g.cause
	seconds := outageSeconds(now.Sub(g.since))
	if o := g.out; o != nil {
		cause = o.Cause
		seconds = outageSeconds(now.Sub(o.Start))
	}
	outcome := OutageStopped
	g.final = cause + " (stopped while waiting for Redis)"
	if stopRun {
		outcome = OutageGaveUp
		g.final = cause + " (gave up waiting for Redis)"
		if g.out != nil {
			g.out.GaveUpAt, g.out.StillDown = now, true
		}
	}
	g.end(now, outcome, true)
	reason := fmt.Sprintf("Redis unavailable for %ss: %s", strconv.FormatFloat(seconds, 'f', -1, 64), cause)
	hold := stopRun && g.e.opts.HoldOnRedisWait
	if hold {
		// Before any item sees the gate given up: none may read as
		// interrupted.
		g.e.holdBecause(reason, g.since, cause)
	}
	g.mu.Unlock()
	if stopRun && !hold {
		g.e.stopBecauseFor(StopRedisWait, reason, seconds)
	}
	for _, x := range held {
		g.rejectHeld(x)
	}
}

// outageSeconds is an outage's length as every record and text says it:
// in tenths of a second.
func outageSeconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*10) / 10
}

// heldBack ends the outage a held run gave up on at back, Redis's first
// good reply to the prober: the outage lasted until then, not until the
// give-up.
func (g *gate) heldBack(back time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.heldOut == 0 {
		return
	}
	o := &g.outages[g.heldOut-1]
	g.heldOut = 0
	o.End, o.StillDown = back, false
	o.Seconds = outageSeconds(back.Sub(o.Start))
}

// rejectHeld rejects an item the gate held when it gave up, with the
// outage's one cause.
func (g *gate) rejectHeld(x *item) {
	g.mu.Lock()
	cause := g.final
	g.mu.Unlock()
	g.e.reject(x, failure(StageRedis, "redis "+x.op.Cmd.String()+" "+x.key, cause))
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

// state says whether Redis is unavailable at now (the gate is closed,
// or commands have waited past stallAfter without a reply), since when
// (its last good reply, see waitingSince), and why.
func (g *gate) state(now time.Time) (down bool, since time.Time, cause string) {
	if g.closed.Load() || g.stalled.Load() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if o := g.out; o != nil {
			return true, o.Start, o.Cause
		}
		if g.closed.Load() {
			return true, g.since, g.cause
		}
	}
	if stalled, since := g.stallAt(now); stalled {
		return true, since, g.stallCause()
	}
	return false, time.Time{}, ""
}

// recorded lists the run's outages, the one under way (if any) last,
// ended at now, and how many more there were than listed.
func (g *gate) recorded(now time.Time) ([]Outage, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := append([]Outage(nil), g.outages...)
	if i := g.heldOut; i > 0 && now.After(out[i-1].End) {
		// A held run's outage goes on while Redis does not answer.
		o := &out[i-1]
		o.End, o.Seconds = now, outageSeconds(now.Sub(o.Start))
	}
	if o := g.out; o != nil {
		cur := *o
		cur.Seconds = outageSeconds(now.Sub(cur.Start))
		out = append(out, cur)
	}
	return out, g.more
}
