package headless

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup"
)

// Off a terminal, a long run prints a progress line every 30 seconds,
// not every second, and still says at once when Redis goes away, when it
// is back, and when the run stops.
func TestProgressLinesOffATerminal(t *testing.T) {
	var errw bytes.Buffer
	p := NewPlain(&bytes.Buffer{}, &errw) // a buffer is not a terminal
	if p.Every != quietEvery {
		t.Fatalf("interval off a terminal %v, want %v", p.Every, quietEvery)
	}
	// One state per second of a 200-second run.
	states := make([]warmup.State, 200)
	for i := range states {
		states[i] = warmup.StateRunning
	}
	for i := 100; i < 105; i++ {
		states[i] = warmup.StateWaiting
	}
	states[150], states[151] = warmup.StateStopping, warmup.StateStopping

	ticks := make(chan time.Time)
	snaps := make(chan warmup.Snapshot)
	snap := func() warmup.Snapshot { return <-snaps }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.progress(ctx, snap, ticks); close(done) }()
	start := time.Now()
	for i, st := range states {
		elapsed := time.Duration(i) * time.Second
		ticks <- start.Add(elapsed)
		snaps <- warmup.Snapshot{State: st, Elapsed: elapsed}
	}
	cancel()
	<-done

	var at []string
	for _, l := range strings.Split(strings.TrimSpace(errw.String()), "\n") {
		f := strings.Fields(l)
		at = append(at, f[1]+" "+f[2])
	}
	want := []string{
		"0.0s running", "30.0s running", "60.0s running", "90.0s running",
		"100.0s waiting", "105.0s running", "135.0s running",
		"150.0s stopping", "152.0s running", "182.0s running",
	}
	if strings.Join(at, "|") != strings.Join(want, "|") {
		t.Errorf("progress lines at\n%v\nwant\n%v", at, want)
	}
}
