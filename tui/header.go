package tui

import (
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

	left := st.AppName.Render("cachewarm") + " → " + st.Target.Render(s.Redis)
	if s.Topology != "" {
		left += " " + st.Muted.Render("("+s.Topology+")")
	}
	if h.demo {
		left += " " + st.Demo.Render("DEMO")
	}
	state := stateLabel(st, s.State)
	if v := s.Verify; v != nil && v.Running {
		state += st.Retrying.Render(" " + count(v.Checked) + "/" + count(v.Total) + " keys")
	}
	switch {
	case s.StopReason != "" && !s.Stopped && (s.State == warmup.StateDone || s.State == warmup.StateStopping):
		// Redis stopped the run; the monitor holds it until r or R,
		// from the give-up on, while the items in flight drain.
		// The cause is the rejected items' own, in the tiles: the
		// header keeps the target and says how long and what now.
		why, _, _ := strings.Cut(s.StopReason, ": ")
		state = st.Stopping.Render(symStopping + " stopped: " + why)
		if s.RedisDown > 0 {
			state += st.Muted.Render(" · still down " + elapsed(s.RedisDown))
		} else {
			// The status line says what r and R do.
			state += st.Fulfilled.Render(" · Redis is back")
		}
	case s.RedisDown > 0:
		state = st.Warning.Render(symWaiting+" waiting for Redis "+elapsed(s.RedisDown)) + st.Stopping.Render(" "+s.RedisCause)
	}
	line1 := spread(left, state, w)

	parts := []string{
		st.Fulfilled.Render(symFulfilled+" "+count(s.Fulfilled)+" fulfilled") + warmCount(st, s.Warm) + inDoubt(st, s.Restarts),
		st.Rejected.Render(symRejected + " " + count(s.Rejected) + " rejected"),
	}
	if s.RetryOf != "" {
		// A retry counts only what it settles: say what it retries and
		// what the runs before it fulfilled, first, so that it is the
		// last thing cut.
		parts = append([]string{st.Retrying.Render(symRetrying + " retry of " + filepath.Base(s.RetryOf) + ": " + count(s.FulfilledBefore) + " fulfilled before")}, parts...)
	}
	// A verify pass takes the place of the pending count it follows.
	if s.Verify == nil || s.Pending > 0 {
		parts = append(parts, st.Pending.Render(count(s.Pending)+" pending"))
	}
	if s.NotStarted > 0 {
		parts = append(parts, st.Stopping.Render(symUnstarted+" "+count(s.NotStarted)+" not started"))
	}
	if v := verifyPart(st, s.Verify); v != "" {
		parts = append(parts, v)
	}
	if r := restartPart(st, s.Restarts); r != "" {
		parts = append(parts, r)
	}
	items := rate(s.Rate) + " items/s"
	line2 := strings.Join(append(parts, items, "elapsed "+elapsed(s.Elapsed)), "  ")
	// The sparkline only where the counts leave room for it: a shorter
	// one (the last seconds) on a narrow terminal.
	for _, sw := range []int{headerSpark, headerSpark / 2} {
		if len(h.history) > 0 && lipgloss.Width(line2)+sw+1 <= w {
			items = st.Spark.Render(sparkline(h.history, sw)) + " " + items
			line2 = strings.Join(append(parts, items, "elapsed "+elapsed(s.Elapsed)), "  ")
			break
		}
	}
	line2 = fit(line2, w)

	return st.HeaderBar.Width(w).Render(line1 + "\n" + line2)
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

// restartPart says the last Redis restart the run saw and the keys it
// re-checked because of it: "redis restarted at 15:04:05 (run_id a1b2… →
// c3d4…) · 12,000 re-checked, 310 lost"; "" when there was none.
func restartPart(st Styles, rc *warmup.RestartCheck) string {
	if rc == nil || len(rc.Events) == 0 {
		return ""
	}
	out := st.Warning.Render(symWaiting + " " + rc.Events[len(rc.Events)-1].String())
	if rc.Checked > 0 || rc.Running {
		out += st.Stopping.Render(" · " + count(rc.Checked) + " re-checked, " + count(rc.Lost) + " lost")
	}
	return out
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
