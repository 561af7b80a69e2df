package fetch

import (
	"context"
	"net/url"
	"slices"
	"sync"
	"time"
)

// A Limiter is an adaptive bound on the requests in flight to one origin
// (fetch.adaptive): it finds how much concurrency the origin takes
// instead of being told. The model is TCP's congestion window, as in
// Netflix's concurrency-limits (AIMDLimit for the losses, Gradient2Limit
// for the latency) and Envoy's adaptive concurrency:
//   - it starts low and doubles the limit every round of answers
//     (slow start), a round being as many answers as the limit, so
//     that a healthy origin reaches the run's limit in a few round
//     trips;
//   - overloads (429s or 503s, timeouts, refused or reset connections)
//     cut the limit by a quarter once they are a tenth of a round's
//     answers (five at least): a few broken items that answer 503
//     whatever the load are not the origin buckling. The cut is once for
//     all the requests in flight when it came: they are one event, not
//     fifty;
//   - a round whose median latency is more than three times the
//     origin's baseline (a moving average of the earlier rounds'
//     medians, quick to fall and slow to rise) cuts it in proportion, by a quarter at least and a half
//     at most; a round is at least 8 answers, so
//     one slow answer is noise, not a signal;
//   - after a cut it grows back quickly to just under the limit at
//     which the origin buckled (the knee), then probes past it by one
//     request every 4 rounds, every 8, ... up to every 128 rounds as the
//     origin keeps buckling at the same place: each probe past the knee
//     costs a round of slow answers; and a cut at a knee so confirmed
//     goes no lower than the climb back would go quickly;
//   - it grows only while it is used: a limit nobody fills says
//     nothing about the origin.
//
// The limit stays between 1 and the maximum it was made with. A Limiter
// reads no clock: the latencies are the caller's, so that its behaviour
// can be replayed.
type Limiter struct {
	mu       sync.Mutex
	max      float64
	limit    float64
	inflight int
	waiters  []chan uint64
	// seq numbers the grants; cutAt is the grant count at the last cut:
	// an overload from a request granted before it belongs to the event
	// that cut already.
	seq, cutAt uint64
	// knee is the limit at which the origin last buckled (0: never);
	// cuts counts the cuts.
	knee float64
	cuts int
	// probe is how many rounds one more request takes near the knee:
	// minProbe, doubled each time the origin buckles where it did last
	// (the knee is confirmed), up to maxProbe.
	probe float64
	// round holds up to roundSample latencies of the current round, n
	// counts its answers, of roundLen; baseline is the moving average of
	// the medians of the rounds that did not cut (0: none yet).
	round       []time.Duration
	n, roundLen int
	// over counts the round's overloads.
	over     int
	baseline float64
}

// A Signal is what one answer says about the origin's load.
type Signal int

// The signals Release takes.
const (
	// Quiet says nothing about the origin: the request was interrupted,
	// or never sent.
	Quiet Signal = iota
	// Healthy is an answer in time that is not an overload, whatever
	// its status: a 404 is the origin's answer, given promptly.
	Healthy
	// Overloaded is a 429 or 503 (504), a timeout, or a connection the
	// origin refused, reset or closed.
	Overloaded
)

// SignalOf is the signal of a Get's outcome: nil is Healthy.
func SignalOf(err *Error) Signal {
	switch {
	case err == nil:
		return Healthy
	case err.Overload:
		return Overloaded
	case err.Cause == "interrupted" || err.BadURL:
		return Quiet
	}
	return Healthy
}

const (
	// initialLimit is where slow start begins.
	initialLimit = 8
	// minOver and overShare say how many overloads in a round cut the
	// limit: 5, or a tenth of the round if more. An origin past its
	// limit answers many of a round with 503s; one whose few broken
	// items answer 503 whatever the load does not.
	minOver   = 5
	overShare = 10
	// backoff is the cut on an overload (AIMDLimit's is 0.9, TCP's 0.5:
	// one cut per event allows a firmer one than a cut per answer).
	backoff = 0.75
	// tolerance is how far a round's median latency may rise over the
	// baseline before it counts as the origin queueing: on a busy
	// machine a round's median wanders past twice the baseline now and
	// then, with the origin as healthy as ever.
	tolerance = 3.0
	// minCut is the deepest cut a latency rise makes; the shallowest is
	// backoff's.
	minCut = 0.5
	// minRound is the fewest answers a round has, so that a round at a
	// low limit is not one answer's noise.
	minRound = 8
	// roundSample is how many of a round's latencies are kept for its
	// median: the first ones, which are as good a sample as any.
	roundSample = 32
	// baselineDown and baselineUp are the weights of a round's median in
	// the baseline, a moving average, when it is lower and when it is
	// higher: the baseline follows a faster origin within a few rounds
	// and a slower one over a hundred, so that a rise spread over a few
	// rounds (the limit climbing past the knee) stands out against it,
	// not only a sudden one.
	baselineDown = 1.0 / 4
	baselineUp   = 1.0 / 64
	// nearKnee is how close under the knee doubling stops, and
	// atKnee where growing by one a round stops and probing starts.
	nearKnee = 0.8
	atKnee   = 0.95
	// minProbe and maxProbe bound the rounds one more request takes
	// while probing at the knee: each probe past it costs a slow round.
	minProbe = 4
	maxProbe = 128
)

// NewLimiter returns a Limiter for one origin, bounded by limit (at
// least 1).
func NewLimiter(limit int) *Limiter {
	m := float64(max(limit, 1))
	return &Limiter{max: m, limit: min(initialLimit, m), probe: minProbe, round: make([]time.Duration, 0, roundSample)}
}

// Limit is the current limit, between 1 and the maximum.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.allowed()
}

// Cuts counts the times the origin made the limit back off.
func (l *Limiter) Cuts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cuts
}

// Max is the limit's upper bound.
func (l *Limiter) Max() int { return int(l.max) }

// allowed is the limit in whole requests, with l.mu held.
func (l *Limiter) allowed() int { return max(1, int(l.limit)) }

// A Ticket is one request's place under a Limiter; Release gives it back.
type Ticket struct {
	l   *Limiter
	seq uint64
}

// Acquire waits for a place under the limit, in the order requests came,
// or for ctx to end (then it returns ctx's error and holds nothing).
func (l *Limiter) Acquire(ctx context.Context) (Ticket, error) {
	l.mu.Lock()
	if len(l.waiters) == 0 && l.inflight < l.allowed() {
		t := l.grantLocked()
		l.mu.Unlock()
		return t, nil
	}
	ch := make(chan uint64, 1)
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case seq := <-ch:
		return Ticket{l: l, seq: seq}, nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	if i := slices.Index(l.waiters, ch); i >= 0 {
		l.waiters = slices.Delete(l.waiters, i, i+1)
		l.mu.Unlock()
		return Ticket{}, ctx.Err()
	}
	l.mu.Unlock()
	// Granted as ctx ended: the place goes to the next waiter.
	Ticket{l: l, seq: <-ch}.Release(Quiet, 0)
	return Ticket{}, ctx.Err()
}

// grantLocked takes a place, with l.mu held.
func (l *Limiter) grantLocked() Ticket {
	l.inflight++
	l.seq++
	return Ticket{l: l, seq: l.seq}
}

// Release gives the place back with what the answer said and how long
// it took (from the request's start to its body's end). The zero Ticket's
// Release does nothing.
func (t Ticket) Release(s Signal, took time.Duration) {
	l := t.l
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	busy := l.inflight >= l.allowed()/2
	l.inflight--
	// An answer to a request sent before the last cut tells of the load
	// before it: the new limit is judged by its own answers.
	if s != Quiet && t.seq > l.cutAt {
		l.answerLocked(s == Overloaded, took, busy)
	}
	for len(l.waiters) > 0 && l.inflight < l.allowed() {
		ch := l.waiters[0]
		l.waiters = slices.Delete(l.waiters, 0, 1)
		ch <- l.grantLocked().seq
	}
}

// cutLocked multiplies the limit by f and remembers where the origin
// buckled; the round starts again, with l.mu held.
func (l *Limiter) cutLocked(f float64) {
	switch {
	case l.knee > 0 && l.limit < atKnee*l.knee:
		// It buckled on the way back up, short of the last knee: the
		// knee is lower still, and the next climb stops shorter.
		l.knee, l.probe = nearKnee*l.limit, minProbe
	case l.knee > 0 && l.limit <= 1.15*l.knee:
		// Where it buckled last time: the knee is confirmed, and the
		// origin is spared by going back under it, not far under.
		l.knee, l.probe = l.limit, min(2*l.probe, maxProbe)
		f = max(f, nearKnee)
	default:
		l.knee, l.probe = l.limit, minProbe
	}
	l.limit = max(1, l.limit*f)
	l.cuts++
	l.cutAt = l.seq
	l.round, l.n = l.round[:0], 0
}

// answerLocked counts an answer, an overload or a healthy one: enough
// overloads in a round cut the limit; a healthy answer grows it when the
// limit was in use (busy). A round ends once it has as many answers as
// the limit, with l.mu held.
func (l *Limiter) answerLocked(overload bool, took time.Duration, busy bool) {
	if l.n == 0 {
		// The round's length is fixed as it starts: in slow start the
		// limit grows as fast as the answers come.
		l.roundLen = max(minRound, l.allowed())
		l.over = 0
	}
	l.n++
	if overload {
		l.over++
		if l.over >= max(minOver, l.roundLen/overShare) {
			l.cutLocked(backoff)
			return
		}
	} else {
		if busy {
			l.growLocked()
		}
		if len(l.round) < roundSample {
			l.round = append(l.round, took)
		}
	}
	if l.n < l.roundLen {
		return
	}
	l.n = 0
	if len(l.round) == 0 {
		return
	}
	m := median(l.round)
	l.round = l.round[:0]
	if l.baseline > 0 && l.allowed() > 1 && float64(m) > tolerance*l.baseline {
		l.cutLocked(min(backoff, max(minCut, tolerance*l.baseline/float64(m))))
		return
	}
	// A round that cut says nothing of the origin's normal latency; one
	// at a limit of 1 that is slow still is the origin's new normal.
	switch d := float64(m) - l.baseline; {
	case l.baseline == 0:
		l.baseline = float64(m)
	case d < 0:
		l.baseline += baselineDown * d
	default:
		l.baseline += baselineUp * d
	}
}

// growLocked adds to the limit for one healthy answer: one (doubling a
// round) in slow start or well under the knee, one a round closer to it,
// and one every probe rounds at it; with l.mu held. A limit well past
// the knee without a cut finds the knee was not one.
func (l *Limiter) growLocked() {
	switch {
	case l.knee == 0 || l.limit < nearKnee*l.knee:
		l.limit++
	case l.limit < atKnee*l.knee:
		l.limit += 1 / l.limit
	default:
		l.limit += 1 / (l.probe * l.limit)
		if l.limit > 1.2*l.knee {
			l.knee, l.probe = l.limit, minProbe
		}
	}
	l.limit = min(l.limit, l.max)
}

// median is the middle of d, which it sorts.
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// Origins holds a Limiter per origin (the host and port of a URL), made
// on first use, each bounded by the same maximum. It forgets idle
// origins once it holds more than maxOrigins, so that a loader whose
// URLs name ever new hosts does not grow it without bound.
type Origins struct {
	mu    sync.Mutex
	max   int
	hosts map[string]*Limiter
}

// maxOrigins is how many origins' limits are kept while idle.
const maxOrigins = 1024

// NewOrigins returns Origins whose limits are bounded by limit.
func NewOrigins(limit int) *Origins {
	return &Origins{max: limit, hosts: map[string]*Limiter{}}
}

// For is the Limiter of rawURL's origin. A URL that does not parse gets
// a Limiter of its own, unshared: its fetch fails before any request.
func (o *Origins) For(rawURL string) *Limiter {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return NewLimiter(o.max)
	}
	host := u.Hostname() + ":" + portOf(u)
	o.mu.Lock()
	defer o.mu.Unlock()
	if l := o.hosts[host]; l != nil {
		return l
	}
	if len(o.hosts) >= maxOrigins {
		o.forgetIdleLocked()
	}
	l := NewLimiter(o.max)
	o.hosts[host] = l
	return l
}

// forgetIdleLocked drops the limiters no request holds or waits for,
// with o.mu held.
func (o *Origins) forgetIdleLocked() {
	for h, l := range o.hosts {
		l.mu.Lock()
		idle := l.inflight == 0 && len(l.waiters) == 0
		l.mu.Unlock()
		if idle {
			delete(o.hosts, h)
		}
	}
}
