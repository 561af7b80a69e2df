package fetch

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// origin answers one request given how many were in flight when it was
// sent: a synthetic origin for driving a Limiter round by round.
type origin func(inflight int, rng *rand.Rand) (Signal, time.Duration)

// drive runs rounds rounds against o, keeping the limiter full as a run
// with work waiting does: each answer frees a place that the next
// request takes at once. A round is as many answers as the limit was
// at its start; drive returns that limit for every round.
func drive(t *testing.T, l *Limiter, o origin, rounds int) []int {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	type sent struct {
		tk       Ticket
		inflight int
	}
	var queue []sent
	var limits []int
	for range rounds {
		n := l.Limit()
		limits = append(limits, n)
		for range n {
			for len(queue) < l.Limit() {
				tk, err := l.Acquire(context.Background())
				if err != nil {
					t.Fatalf("Acquire under the limit: %v", err)
				}
				queue = append(queue, sent{tk, len(queue) + 1})
			}
			s, took := o(queue[0].inflight, rng)
			queue[0].tk.Release(s, took)
			queue = queue[1:]
		}
	}
	for _, q := range queue {
		q.tk.Release(Quiet, 0)
	}
	return limits
}

func healthy(base time.Duration) origin {
	return func(_ int, rng *rand.Rand) (Signal, time.Duration) {
		// ±50% jitter, and one answer in 50 ten times slower: noise a
		// healthy origin has.
		d := base/2 + time.Duration(rng.Int64N(int64(base)))
		if rng.IntN(50) == 0 {
			d *= 10
		}
		return Healthy, d
	}
}

// buckling is an origin that answers every request ten times slower
// while more than knee are in flight, and 503 while more than twice
// that are: the origin of the harness's adaptive row.
func buckling(knee int, base time.Duration) origin {
	return func(inflight int, _ *rand.Rand) (Signal, time.Duration) {
		switch {
		case inflight > 2*knee:
			return Overloaded, base
		case inflight > knee:
			return Healthy, 10 * base
		}
		return Healthy, base
	}
}

// noisy is a healthy origin on a loaded machine: latencies spread
// log-normally (σ 0.6, so a tenth are over twice the median) and one in
// twenty five times slower.
func noisy(base time.Duration) origin {
	return func(_ int, rng *rand.Rand) (Signal, time.Duration) {
		d := time.Duration(float64(base) * math.Exp(0.6*rng.NormFloat64()))
		if rng.IntN(20) == 0 {
			d *= 5
		}
		return Healthy, d
	}
}

func TestLimiterReachesTheLimitFastAndKeepsItOnAHealthyOrigin(t *testing.T) {
	for _, o := range []struct {
		name   string
		origin origin
	}{{"jittery", healthy(10 * time.Millisecond)}, {"noisy", noisy(10 * time.Millisecond)}} {
		for _, max := range []int{1, 32, 200, 10000} {
			l := NewLimiter(max)
			limits := drive(t, l, o.origin, 1000)
			first := -1
			for i, n := range limits {
				if n == max && first < 0 {
					first = i
				}
				if first >= 0 && n != max {
					t.Fatalf("%s origin, max %d: limit fell to %d in round %d", o.name, max, n, i)
				}
			}
			// Slow start doubles every round: 8 → 10000 in 11 rounds.
			if first < 0 || first > 12 {
				t.Fatalf("%s origin, max %d: limit reached it in round %d, want within 12 (limits %v…)", o.name, max, first, limits[:15])
			}
		}
	}
}

func TestLimiterOneOverloadEventIsOneCut(t *testing.T) {
	l := NewLimiter(100)
	drive(t, l, healthy(time.Millisecond), 10)
	if got := l.Limit(); got != 100 {
		t.Fatalf("limit %d after ramp, want 100", got)
	}
	overload := func(n int) {
		tickets := make([]Ticket, n)
		for i := range tickets {
			tickets[i], _ = l.Acquire(context.Background())
		}
		for _, tk := range tickets {
			tk.Release(Overloaded, time.Millisecond)
		}
	}
	// Every one of the 60 in flight gets a 503: one event.
	overload(60)
	if got := l.Limit(); got != 75 {
		t.Fatalf("limit %d after 60 answers of one overload, want 75 (one cut by a quarter)", got)
	}
	// Requests granted after the cut are a new event.
	overload(20)
	if got := l.Limit(); got != 56 {
		t.Fatalf("limit %d after a second overload, want 56", got)
	}
}

// A few items that answer 503 whatever the load (3% of answers) are not
// the origin buckling: the limit stays where it is.
func TestLimiterIgnoresSporadicOverloads(t *testing.T) {
	for _, max := range []int{10, 32, 200} {
		l := NewLimiter(max)
		drive(t, l, func(_ int, rng *rand.Rand) (Signal, time.Duration) {
			if rng.IntN(100) < 3 {
				return Overloaded, time.Millisecond
			}
			return Healthy, 10 * time.Millisecond
		}, 1000)
		if got, cuts := l.Limit(), l.Cuts(); got < max*3/4 || cuts > 10 {
			t.Errorf("max %d: limit %d after %d cuts, with 3%% of answers 503: want at least %d, at most 10 cuts", max, got, cuts, max*3/4)
		}
	}
}

func TestLimiterStaysWithinBounds(t *testing.T) {
	l := NewLimiter(5)
	drive(t, l, func(int, *rand.Rand) (Signal, time.Duration) { return Overloaded, time.Second }, 100)
	if got := l.Limit(); got != 1 {
		t.Fatalf("limit %d after 100 overloads, want 1", got)
	}
	drive(t, l, healthy(time.Millisecond), 200)
	if got := l.Limit(); got != 5 {
		t.Fatalf("limit %d after a recovery, want the maximum 5", got)
	}
}

func TestLimiterCutsOnALatencyRise(t *testing.T) {
	l := NewLimiter(64)
	drive(t, l, func(int, *rand.Rand) (Signal, time.Duration) { return Healthy, 10 * time.Millisecond }, 10)
	if got := l.Limit(); got != 64 {
		t.Fatalf("limit %d, want 64", got)
	}
	// The origin is queueing: every answer 4× slower than its baseline.
	limits := drive(t, l, func(int, *rand.Rand) (Signal, time.Duration) { return Healthy, 40 * time.Millisecond }, 2)
	if got := l.Limit(); got > limits[0]*3/4 || got < limits[0]/2 {
		t.Fatalf("limit %d after a round 4× slower than the baseline, want a cut from %d by a quarter to a half", got, limits[0])
	}
}

func TestLimiterFindsTheKneeOfABucklingOrigin(t *testing.T) {
	l := NewLimiter(200)
	limits := drive(t, l, buckling(50, 10*time.Millisecond), 400)
	// After the first rounds it never gets near the 503s (twice the
	// knee), probes past the knee by a little and rarely, and keeps
	// close under it the rest of the time.
	var over, sum int
	for i, n := range limits[20:] {
		if n > 60 {
			t.Fatalf("limit %d in round %d: far past the knee of 50", n, 20+i)
		}
		if n > 50 {
			over++
		}
		sum += n
	}
	avg := float64(sum) / float64(len(limits)-20)
	if over > len(limits[20:])*15/100 || avg < 40 {
		t.Fatalf("over the knee in %d of %d rounds, average limit %.1f: want under 15%% of rounds and an average of 40 or more", over, len(limits)-20, avg)
	}
}

func TestLimiterGrowsOnlyWhenUsed(t *testing.T) {
	l := NewLimiter(100)
	for range 1000 {
		// One request at a time: the limit of 8 is never in use.
		tk, _ := l.Acquire(context.Background())
		tk.Release(Healthy, time.Millisecond)
	}
	if got := l.Limit(); got != initialLimit {
		t.Fatalf("limit %d after a trickle of requests, want it left at %d", got, initialLimit)
	}
}

func TestLimiterAcquireHonoursCancellation(t *testing.T) {
	l := NewLimiter(1)
	held, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := l.Acquire(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Acquire with its context cancelled while waiting returned a place")
	}
	// The cancelled waiter holds nothing: the place goes to the next one.
	held.Release(Healthy, time.Millisecond)
	tk, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tk.Release(Healthy, time.Millisecond)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight != 0 || len(l.waiters) != 0 {
		t.Fatalf("in flight %d, waiters %d after every place was given back", l.inflight, len(l.waiters))
	}
}

func TestLimiterWaitersGoInOrder(t *testing.T) {
	l := NewLimiter(1)
	held, _ := l.Acquire(context.Background())
	got := make(chan int, 3)
	for i := range 3 {
		ready := make(chan struct{})
		go func() {
			close(ready)
			tk, _ := l.Acquire(context.Background())
			got <- i
			tk.Release(Healthy, time.Millisecond)
		}()
		<-ready
		// Wait until it is queued before starting the next.
		for {
			l.mu.Lock()
			n := len(l.waiters)
			l.mu.Unlock()
			if n == i+1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	held.Release(Healthy, time.Millisecond)
	for want := range 3 {
		if i := <-got; i != want {
			t.Fatalf("waiter %d got its place before waiter %d", i, want)
		}
	}
}

func TestSignalOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *Error
		want Signal
	}{
		{"ok", nil, Healthy},
		{"503", &Error{Cause: "503 Service Unavailable", Transient: true, Overload: true}, Overloaded},
		{"timeout", &Error{Cause: "timeout after 10s", Transient: true, Overload: true}, Overloaded},
		{"404 is a prompt answer", &Error{Cause: "404 Not Found"}, Healthy},
		{"500 is a prompt answer", &Error{Cause: "500 Internal Server Error", Transient: true}, Healthy},
		{"interrupted", &Error{Cause: "interrupted"}, Quiet},
		{"bad URL", &Error{Cause: "URL has no host", BadURL: true}, Quiet},
	} {
		if got := SignalOf(tc.err); got != tc.want {
			t.Errorf("%s: SignalOf = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestOriginsShareALimiterPerHostAndPort(t *testing.T) {
	o := NewOrigins(10)
	a := o.For("http://shop.example/a")
	for _, tc := range []struct {
		url  string
		same bool
	}{
		{"http://shop.example/b?x=1", true},
		{"http://shop.example:80/c", true},
		{"http://shop.example:8080/a", false},
		{"https://shop.example/a", false},
		{"http://other.example/a", false},
	} {
		if got := o.For(tc.url) == a; got != tc.same {
			t.Errorf("%s: shares the limiter of http://shop.example/a: %v, want %v", tc.url, got, tc.same)
		}
	}
	if a.Max() != 10 {
		t.Errorf("Max %d, want 10", a.Max())
	}
}
