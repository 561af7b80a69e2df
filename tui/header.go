package tui

import (
	"net/url"
	"path/filepath"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/cachewarm/cachewarm/warmup"
)

// headerHeight is the header's height: two lines and a rule.
const headerHeight = 3

// header shows the Redis target, the run's totals and its state.
type header struct {
	ctx   *Context
	width int
	snap  warmup.Snapshot
	// history is the run's items/s over the last minute.
	history []float64
	// demo shows the DEMO badge: the caller started the demo's stand-ins.
	demo bool
}

func newHeader(ctx *Context, demo bool) header { return header{ctx: ctx, demo: demo} }

// SetSize sets the header's width; its height is always headerHeight.
func (h *header) SetSize(w, _ int) { h.width = w }

// SetSnapshot stores the snapshot to show, and the run's throughput
// history.
func (h *header) SetSnapshot(s warmup.Snapshot, history []float64) { h.snap, h.history = s, history }

// headerSpark is the width of the header's items/s sparkline.
const headerSpark = 16

// View renders the header.
func (h header) View() string {
	st := h.ctx.Styles
	s := h.snap
	w := max(h.width, 1)

	// The target is never cut to "…": where the URL does not fit, its
	// host:port form does, and the topology goes before it.
	lefts := []string{}
	for _, target := range []string{s.Redis, shortTarget(s.Redis)} {
		for _, topo := range []bool{true, false} {
			left := st.AppName.Render("cachewarm") + " → " + st.Target.Render(target)
			if topo && s.Topology != "" {
				left += " " + st.Muted.Render("("+s.Topology+")")
			}
			if h.demo {
				left += " " + st.Demo.Render("DEMO")
			}
			lefts = append(lefts, left)
		}
	}
	state := stateLabel(st, s.State)
	if v := s.Verify; v != nil && v.Running {
		state += st.Retrying.Render(" " + count(v.Checked) + "/" + count(v.Total) + " keys")
	}
	// states are the state's forms, the longest first: the target is
	// shortened before the state's cause goes, and that before the
	// target is cut.
	states := []string{state}
	switch {
	case s.StopReason != "" && !s.Stopped && (s.State == warmup.StateDone || s.State == warmup.StateStopping):
		// Redis stopped the run (its in-flight items may still be
		// draining); the monitor holds it until r or R.
		// The cause is the rejected items' own, in the tiles: the
		// header keeps the target and says how long and what now.
		why, _, _ := strings.Cut(s.StopReason, ": ")
		now := st.Fulfilled.Render(" · Redis is back")
		if s.RedisDown > 0 {
			now = st.Muted.Render(" · still down " + elapsed(s.RedisDown))
		}
		// The status line says what r and R do.
		states = []string{st.Stopping.Render(symStopping+" stopped: "+why) + now, st.Stopping.Render(symStopping+" stopped") + now}
	case s.RedisDown > 0:
		waiting := st.Warning.Render(symWaiting + " waiting for Redis " + elapsed(s.RedisDown))
		cause := st.Stopping.Render(" " + s.RedisCause)
		// Short of room, the cause is cut after the target's short
		// form: why Redis does not answer is worth a cut line.
		room := w - lipgloss.Width(lefts[len(lefts)-1]) - 1 - lipgloss.Width(waiting)
		states = []string{waiting + cause}
		if i := strings.LastIndex(s.RedisCause, ": "); i >= 0 {
			// "redis 10.0.0.5:6379: connection refused": the address
			// is the target's; what happened is the end.
			states = append(states, waiting+st.Stopping.Render(" "+s.RedisCause[i+2:]))
		}
		if room >= 16 {
			states = append(states, waiting+fit(cause, room))
		}
		states = append(states, waiting)
	}
	var line1 string
	for _, state := range states {
		for _, left := range lefts {
			if line1 == "" && lipgloss.Width(left)+1+lipgloss.Width(state) <= w {
				line1 = spread(left, state, w)
			}
		}
	}
	if line1 == "" {
		// The state's cause is cut before the target is.
		left, state := lefts[len(lefts)-1], states[len(states)-1]
		if lw := lipgloss.Width(left); lw < w*2/3 {
			state = fit(state, w-lw-1)
		}
		line1 = spread(left, state, w)
	}

	line2 := fitParts(h.parts(), w, func(sw int) string {
		if len(h.history) == 0 {
			return ""
		}
		return st.Spark.Render(sparkline(h.history, sw)) + " "
	})

	return st.HeaderBar.Width(w).Render(line1 + "\n" + line2)
}

// part is one of the header's second-line parts: its text, shorter
// forms of it, and its rank: where the line is short of room the
// lowest ranks take their shorter forms first, then go.
type part struct {
	forms []string
	rank  int
	// rate marks the items/s part, which the sparkline goes before.
	rate bool
}

// Ranks of the second line's parts: what is kept longest first.
const (
	rankCounts = 10 - iota
	rankRetryOf
	rankUnstarted
	rankRestart
	rankVerify
	rankPending
	rankRate
	rankElapsed
)

// parts are the second line's parts, in the order they are shown.
func (h header) parts() []part {
	st := h.ctx.Styles
	s := h.snap
	var ps []part
	if s.RetryOf != "" {
		// A retry counts only what it settles: say what it retries and
		// what the runs before it fulfilled.
		ps = append(ps, part{rank: rankRetryOf, forms: []string{
			st.Retrying.Render(symRetrying + " retry of " + filepath.Base(s.RetryOf) + ": " + count(s.FulfilledBefore) + " fulfilled before"),
			st.Retrying.Render(symRetrying + " retry: " + count(s.FulfilledBefore) + " before"),
		}})
	}
	ful := st.Fulfilled.Render(symFulfilled + " " + count(s.Fulfilled) + " fulfilled")
	ps = append(ps,
		part{rank: rankCounts, forms: []string{ful + warmCount(st, s.Warm) + inDoubt(st, s.Restarts), ful + inDoubt(st, s.Restarts), st.Fulfilled.Render(symFulfilled + " " + count(s.Fulfilled))}},
		part{rank: rankCounts, forms: []string{st.Rejected.Render(symRejected + " " + count(s.Rejected) + " rejected"), st.Rejected.Render(symRejected + " " + count(s.Rejected))}},
	)
	// A verify pass takes the place of the pending count it follows.
	if s.Verify == nil || s.Pending > 0 {
		ps = append(ps, part{rank: rankPending, forms: []string{st.Pending.Render(count(s.Pending) + " pending")}})
	}
	if s.NotStarted > 0 {
		ps = append(ps, part{rank: rankUnstarted, forms: []string{
			st.Stopping.Render(symUnstarted + " " + count(s.NotStarted) + " not started"),
			st.Stopping.Render(symUnstarted + " " + count(s.NotStarted)),
		}})
	}
	if v := verifyPart(st, s.Verify); v != "" {
		ps = append(ps, part{rank: rankVerify, forms: []string{v}})
	}
	if r := restartForms(st, s.Restarts, restartRewritten(s)); len(r) > 0 {
		ps = append(ps, part{rank: rankRestart, forms: r})
	}
	ps = append(ps,
		part{rank: rankRate, rate: true, forms: []string{rate(s.Rate) + " items/s", rate(s.Rate) + "/s"}},
		part{rank: rankElapsed, forms: []string{"elapsed " + elapsed(s.Elapsed), elapsed(s.Elapsed)}},
	)
	return ps
}

// fitParts joins the parts in w cells: the sparkline (spark(width))
// first goes shorter, then away; then the lowest-ranked part takes its
// next shorter form, or goes once it has none; a line of the highest
// rank alone is cut.
func fitParts(ps []part, w int, spark func(int) string) string {
	form := make([]int, len(ps))
	dropped := make([]bool, len(ps))
	join := func(sp string) string {
		var out []string
		for i, p := range ps {
			if dropped[i] {
				continue
			}
			f := p.forms[form[i]]
			if p.rate {
				f = sp + f
			}
			out = append(out, f)
		}
		return strings.Join(out, "  ")
	}
	for _, sw := range []int{headerSpark, headerSpark / 2} {
		if l := join(spark(sw)); spark(sw) != "" && lipgloss.Width(l) <= w {
			return l
		}
	}
	if l := join(""); lipgloss.Width(l) <= w {
		return l
	}
	for _, step := range degrade {
		for i, p := range ps {
			if p.rank != step.rank || dropped[i] {
				continue
			}
			if step.drop {
				dropped[i] = true
			} else if form[i] < len(p.forms)-1 {
				form[i]++
			}
			if l := join(""); lipgloss.Width(l) <= w {
				return l
			}
		}
	}
	return fit(join(""), w)
}

// degrade is the order the second line gives up room in: shorter forms
// of the time and the rate, the restart's outcome down to its lost
// keys, then the pending count, the time and the rate go; only then do
// the counts shorten to their symbols, and last what a retry retries.
var degrade = []struct {
	rank int
	drop bool
}{
	{rankElapsed, false}, {rankRate, false},
	{rankRestart, false}, {rankRestart, false}, {rankRestart, false},
	{rankPending, true}, {rankElapsed, true}, {rankRate, true},
	{rankUnstarted, false}, {rankVerify, true},
	{rankCounts, false}, {rankCounts, false}, {rankRetryOf, false}, {rankRestart, true},
}

// shortTarget is a Redis URL's host:port (and database, when not 0):
// "redis://:***@cache.internal:6379/0" is "cache.internal:6379". A
// target that is not such a URL is kept.
func shortTarget(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return target
	}
	if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
		return u.Host + "/" + db
	}
	return u.Host
}

// restartRewritten reports whether the keys the last Redis restart lost
// have all been written again: the check is over, no item is retrying
// and none is rejected as lost.
func restartRewritten(s warmup.Snapshot) bool {
	rc := s.Restarts
	if rc == nil || rc.Lost == 0 || rc.Running {
		return false
	}
	for _, l := range s.Loaders {
		if l.Retrying > 0 {
			return false
		}
		for _, c := range l.Causes {
			if c.Cause == warmup.CauseLost {
				return false
			}
		}
	}
	return true
}

// verifyPart is what --verify found, once a pass has checked keys: the
// keys checked, those found wrong (now counted rejected), and the keys
// Redis evicted since the run started; "" without --verify.
func verifyPart(st Styles, v *warmup.VerifyState) string {
	if v == nil || (v.Checked == 0 && !v.Complete) {
		return ""
	}
	out := st.Fulfilled.Render(symVerifying + " " + count(v.Checked) + " verified")
	if v.Failed > 0 {
		out += st.Rejected.Render(", " + count(v.Failed) + " wrong")
	}
	if v.Evicted > 0 {
		out += st.Stopping.Render(", " + count(v.Evicted) + " evicted")
	}
	return out
}

// restartForms say the last Redis restart the run saw and the keys it
// re-checked because of it, the longest first: "↺ redis restarted at
// 15:04:05 (run_id a1b2… → c3d4…) · 12,000 re-checked, 310 lost", down
// to "↺ 310 lost"; the lost keys, once written again, "310 lost,
// rewritten". None when there was no restart.
func restartForms(st Styles, rc *warmup.RestartCheck, rewritten bool) []string {
	if rc == nil || len(rc.Events) == 0 {
		return nil
	}
	ev := rc.Events[len(rc.Events)-1]
	lost := count(rc.Lost) + " lost"
	if rewritten {
		lost += ", rewritten"
	}
	glyph := st.Warning.Render(symRestarted + " " + ev.String())
	at := st.Warning.Render(symRestarted + " restart " + ev.At.Format("15:04:05"))
	if rc.Checked == 0 && !rc.Running {
		return []string{glyph, at}
	}
	outcome := st.Stopping.Render(" · " + count(rc.Checked) + " re-checked, " + lost)
	return []string{
		glyph + outcome,
		at + outcome,
		at + st.Stopping.Render(" · "+lost),
		st.Warning.Render(symRestarted + " " + lost),
	}
}

// stateLabel is the run state as a symbol and a word.
func stateLabel(st Styles, state warmup.State) string {
	switch state {
	case warmup.StateRunning:
		return st.Running.Render(symRunning + " running")
	case warmup.StateRetrying:
		return st.Retrying.Render(symRetrying + " retrying")
	case warmup.StateStopping:
		return st.Stopping.Render(symStopping + " stopping")
	case warmup.StateWaiting:
		return st.Stopping.Render(symWaiting + " waiting for Redis")
	case warmup.StateVerifying:
		return st.Retrying.Render(symVerifying + " verifying")
	case warmup.StateRechecking:
		return st.Warning.Render(symVerifying + " re-checking after Redis restart")
	case warmup.StateDone:
		return st.Done.Render(symFulfilled + " done")
	default:
		return st.Muted.Render("starting")
	}
}

// inDoubt marks the fulfilled count while a Redis restart has put keys in
// doubt that are not re-checked yet: the count is not a fact until then.
func inDoubt(st Styles, rc *warmup.RestartCheck) string {
	if rc == nil || (!rc.InDoubt && !rc.Running) {
		return ""
	}
	return st.Warning.Render(" (in doubt: Redis restarted)")
}
