package warmup

import (
	"testing"
	"time"
)

// A loader's rate holds when the pacing goroutine wakes only every
// millisecond (timers are that coarse under load): the tokens of a late
// wake-up are not lost, and no second starts more than 1% over the rate.
func TestRateKeepsPaceWithCoarseWakeUps(t *testing.T) {
	for _, perSecond := range []float64{20000, 2000, 500, 0.5} {
		lim := newLimiter(perSecond)
		start := time.Now()
		started := 0
		for tick := time.Duration(0); tick < 2*time.Second; tick += time.Millisecond {
			for lim.AllowN(start.Add(tick), 1) {
				started++
			}
		}
		want := perSecond * 2
		if float64(started) < want*0.99 || float64(started) > want*1.01+1 {
			t.Errorf("rate %g/s: %d attempts started in 2s with 1ms wake-ups, want about %g", perSecond, started, want)
		}
	}
}
