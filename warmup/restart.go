package warmup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// causeLost is the cause of an item whose key a Redis restart or
// failover lost after Redis had acknowledged it; the run writes it again.
const causeLost = "lost in Redis restart"

// earlierRuns is the Addr of a restart seen between earlier runs and
// this one (--retry-from, --resume).
const earlierRuns = "earlier runs"

// maxRestartEvents is how many restarts a run keeps to show; more are
// counted, not kept.
const maxRestartEvents = 16

// RedisRestart is a Redis process that acknowledged the run's writes and
// was then replaced: restarted (a new run_id at the same address) or
// failed over (another server serves its keys now).
type RedisRestart struct {
	// At is when the run saw it (the gate reopened, or the run settled).
	At time.Time `json:"at"`
	// Addr and RunID name the process that acknowledged the writes;
	// NewAddr and NewRunID the one serving its keys now.
	Addr     string `json:"addr"`
	RunID    string `json:"run_id"`
	NewAddr  string `json:"new_addr"`
	NewRunID string `json:"new_run_id"`
}

// String is the line the monitor, --plain and the report show:
// "redis restarted at 15:04:05 (run_id a1b2… → c3d4…)".
func (r RedisRestart) String() string {
	if r.Addr == earlierRuns {
		return fmt.Sprintf("redis may not hold the earlier runs' writes (it restarted or failed over since, or a crash or stop left them in doubt): their keys are re-checked (%s)", r.At.Format("15:04:05"))
	}
	what := "redis restarted"
	if r.NewAddr != r.Addr {
		what = "redis " + r.Addr + " failed over to " + r.NewAddr
	}
	return fmt.Sprintf("%s at %s (run_id %s → %s)", what, r.At.Format("15:04:05"), shortRunID(r.RunID), shortRunID(r.NewRunID))
}

// shortRunID is a run_id's first four characters, enough to tell two
// apart in a line.
func shortRunID(id string) string {
	if len(id) > 4 {
		return id[:4] + "…"
	}
	return id
}

// RestartCheck is what the run did about Redis restarts: the restarts it
// saw, and the keys it re-checked because of them.
type RestartCheck struct {
	// Restarts counts the restarts seen; Events lists the first ones.
	Restarts int            `json:"restarts"`
	Events   []RedisRestart `json:"events"`
	// Running is true while keys are being re-checked; InDoubt, while
	// keys a restart put in doubt wait for their check: until both are
	// false the fulfilled count is not proven.
	Running bool `json:"-"`
	InDoubt bool `json:"-"`
	// Checked counts the keys re-checked, Lost those found missing and
	// written again (each a retried item, counted in the loaders'
	// totals as it settles).
	Checked int64 `json:"checked"`
	Lost    int64 `json:"lost"`
	// Unverified counts the keys in doubt that could not be checked
	// (Redis failed the check, or the source cannot be read again): they
	// are not proven there, and the run does not exit 0.
	Unverified int64 `json:"unverified,omitempty"`
	// Note says what could not be checked and why, or "".
	Note string `json:"note,omitempty"`
	// Seconds is the time the check passes took, in all.
	Seconds float64 `json:"seconds"`
}

// restartWatch follows which Redis processes acknowledge the run's
// writes, and which keys a change put in doubt.
type restartWatch struct {
	// due says the run settled items since the identity was last read:
	// it is read again when the run settles.
	due     atomic.Bool
	running atomic.Bool

	mu sync.Mutex
	// known is the identity that acknowledged the writes since the last
	// change.
	known  rediswrite.Identity
	events []RedisRestart
	count  int
	// doubtAll says every key written so far is in doubt; doubtSlots,
	// the keys of those cluster slots.
	doubtAll   bool
	doubtSlots []bool
	// checked, lost and unverified add up the check passes, per loader
	// (index as e.loaders); note is the last pass's.
	checked, lost, unverified int64
	note                      string
	took                      time.Duration
	// prior are the processes that acknowledged the earlier runs' writes
	// (a --retry-from or --resume run), priorDoubt says their keys are in
	// doubt whatever the processes now; hasPrior says there are earlier
	// runs.
	prior      []string
	priorDoubt bool
	hasPrior   bool
}

// after says this run goes on from earlier runs, whose writes processes
// acknowledged (nil: unknown) and doubt says are in doubt.
func (w *restartWatch) after(processes []string, doubt bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.prior, w.priorDoubt, w.hasPrior = processes, doubt, true
}

// comparePrior puts every key in doubt, the earlier runs' with them, when
// the processes that acknowledged the earlier runs' writes are not those
// that serve them now (cur), are unknown, or left keys in doubt; with
// w.mu held. It returns the restart to say.
func (w *restartWatch) comparePrior(cur rediswrite.Identity) []RedisRestart {
	if !w.hasPrior {
		return nil
	}
	now := cur.Processes()
	if !w.priorDoubt && len(w.prior) > 0 && slices.Equal(w.prior, now) {
		return nil
	}
	r := RedisRestart{At: time.Now(), Addr: earlierRuns, RunID: "?", NewAddr: earlierRuns, NewRunID: strings.Join(now, ", ")}
	if gone := slices.DeleteFunc(slices.Clone(w.prior), func(p string) bool { return slices.Contains(now, p) }); len(gone) > 0 {
		r.RunID = strings.Join(gone, ", ")
	}
	w.add(r)
	w.doubt(nil)
	return []RedisRestart{r}
}

// processes are the Redis processes that acknowledged the run's writes,
// or the earlier runs' when the run read no identity.
func (w *restartWatch) processes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.known.Known() {
		return w.prior
	}
	return w.known.Processes()
}

// restartKeys is the restart check's pass: a key in doubt that is
// missing is written again.
var restartKeys = checkKind{
	name:      "restart check",
	tally:     func(lr *loaderRun) *verifyTally { return &lr.restartTally },
	problem:   lostProblem,
	why:       func(key, cause string) *itemError { return failure(StageRedis, "redis "+key, cause) },
	mustProve: true,
}

// lostProblem is causeLost for a missing key: what a restart may lose.
func lostProblem(code int64, _ *config.Loader) string {
	if code == rediswrite.CheckMissing {
		return causeLost
	}
	return ""
}

// identityTimeout bounds one read of the identity.
func (e *Engine) identityTimeout() time.Duration { return min(e.cfg.Run.Timeout, 5*time.Second) }

// watchFrom reads the identity that will acknowledge the run's first
// writes.
func (e *Engine) watchFrom() {
	if e.rdb == nil {
		return
	}
	e.restart.due.Store(true)
	e.noteIdentity()
}

// noteIdentity reads which processes acknowledge writes now and, when
// one that acknowledged earlier writes was replaced, records the restart
// and puts its keys in doubt. A read that fails changes nothing: the
// next one (the gate reopening, the run settling) tells.
func (e *Engine) noteIdentity() {
	ctx, cancel := context.WithTimeout(e.stopCtx, e.identityTimeout())
	defer cancel()
	cur, err := e.rdb.Identity(ctx)
	if err != nil && ctx.Err() == nil {
		// A pooled connection to a process that is gone fails once
		// (reset, EOF) and is dropped: the second read dials the server
		// that answers now.
		cur, err = e.rdb.Identity(ctx)
	}
	if err != nil || !cur.Known() {
		return
	}
	seen := e.restart.record(cur)
	if e.opts.OnRedisRestart != nil {
		for _, r := range seen {
			callback(func() { e.opts.OnRedisRestart(r) })
		}
	}
}

// record compares cur with the identity known so far, records the
// restarts it shows and puts their keys in doubt.
func (w *restartWatch) record(cur rediswrite.Identity) []RedisRestart {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.known.Known() {
		w.known = cur
		return w.comparePrior(cur)
	}
	changes, slots := w.known.Compare(cur)
	w.known = w.known.Merge(cur)
	if len(changes) == 0 {
		return nil
	}
	now := time.Now()
	seen := make([]RedisRestart, 0, len(changes))
	for _, c := range changes {
		r := RedisRestart{At: now, Addr: c.From.Addr, RunID: c.From.RunID, NewAddr: c.To.Addr, NewRunID: c.To.RunID}
		seen = append(seen, r)
		w.add(r)
	}
	w.doubt(slots)
	return seen
}

// add counts r, and keeps it to show while fewer than maxRestartEvents
// are kept; with w.mu held.
func (w *restartWatch) add(r RedisRestart) {
	w.count++
	if len(w.events) < maxRestartEvents {
		w.events = append(w.events, r)
	}
}

// doubt puts the keys of slots (nil: every key) in doubt, with w.mu held.
func (w *restartWatch) doubt(slots []bool) {
	if slots == nil {
		w.doubtAll = true
		return
	}
	if w.doubtSlots == nil {
		w.doubtSlots = make([]bool, len(slots))
	}
	for s, in := range slots {
		w.doubtSlots[s] = w.doubtSlots[s] || in
	}
}

// takeDoubt returns which keys are in doubt (nil: none) and clears it.
func (w *restartWatch) takeDoubt() func(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	all, slots := w.doubtAll, w.doubtSlots
	w.doubtAll, w.doubtSlots = false, nil
	switch {
	case all:
		return func(string) bool { return true }
	case slots != nil:
		return func(key string) bool { return slots[rediswrite.Slot(key)] }
	}
	return nil
}

// startRestartCheckIfDue reads the identity again when the run has just
// settled items (busy dropped to 0): a restart no failed write revealed
// is seen here. It counts the check as work before the caller's busyDone
// lets Wait return.
func (e *Engine) startRestartCheckIfDue() bool {
	if e.rdb == nil || e.w == nil || e.stopCtx.Err() != nil || e.held() || !e.restart.due.CompareAndSwap(true, false) {
		return false
	}
	e.busyAdd(1)
	go e.settleRestarts()
	return true
}

// startRestartCheckNow re-checks the keys in doubt at once, through the
// path a settling run takes, when a restart put any in doubt: a held
// run's prober found Redis back.
func (e *Engine) startRestartCheckNow() {
	if e.w == nil || e.stopCtx.Err() != nil || !e.restart.inDoubt() {
		return
	}
	e.busyAdd(1)
	go e.settleRestarts()
}

// inDoubt says whether keys are in doubt and not checked yet.
func (w *restartWatch) inDoubt() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.doubtAll || w.doubtSlots != nil
}

// settleRestarts reads the identity and, when keys are in doubt,
// re-checks them from the sources and writes the missing ones again
// through the normal path.
func (e *Engine) settleRestarts() {
	defer e.busyDone()
	e.noteIdentity()
	inDoubt := e.restart.takeDoubt()
	if inDoubt == nil {
		return
	}
	e.recheck(inDoubt)
	e.RetryCause(causeLost)
}

// recheck checks the keys in doubt of every loader, all loaders at once,
// and moves the missing ones to rejected with causeLost.
func (e *Engine) recheck(inDoubt func(key string) bool) {
	w := &e.restart
	began := time.Now()
	w.running.Store(true)
	defer w.running.Store(false)
	ctx, abort := context.WithCancel(e.stopCtx)
	defer abort()
	for _, lr := range e.loaders {
		lr.restartTally.reset()
	}
	var wg sync.WaitGroup
	for _, lr := range e.loaders {
		wg.Go(func() { e.verifyLoader(ctx, abort, lr, restartKeys, inDoubt) })
	}
	wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.unverified, w.note = 0, ""
	w.took += time.Since(began)
	for _, lr := range e.loaders {
		c := lr.restartTally.counts()
		w.checked += c.Checked
		w.lost += c.Missing
		w.unverified += c.Unverified
		if c.Note != "" {
			w.note = lr.cfg.Name + ": " + c.Note
		}
	}
}

// restartCheck is what the run did about restarts, nil when it saw none.
func (e *Engine) restartCheck() *RestartCheck {
	w := &e.restart
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count == 0 {
		return nil
	}
	rc := &RestartCheck{Restarts: w.count, Events: append([]RedisRestart(nil), w.events...), Running: w.running.Load(),
		Checked: w.checked, Lost: w.lost, Unverified: w.unverified, Note: w.note, Seconds: w.took.Seconds(),
		InDoubt: w.doubtAll || w.doubtSlots != nil}
	if rc.Running {
		for _, lr := range e.loaders {
			c := lr.restartTally.counts()
			rc.Checked += c.Checked
			rc.Lost += c.Missing
		}
	}
	return rc
}

// restartUnproven says whether keys a restart put in doubt are not
// proven there: not checked yet, or their check failed.
func (e *Engine) restartUnproven() bool {
	w := &e.restart
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.doubtAll || w.doubtSlots != nil || w.unverified > 0
}
