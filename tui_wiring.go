package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/cachewarm/cachewarm/tui"
	"github.com/cachewarm/cachewarm/warmup"
)

// monitorOptions are the monitor's settings decided by main.
type monitorOptions struct {
	// exitWhenDone is --exit-when-done.
	exitWhenDone bool
	// demo shows the DEMO badge: main started the demo's stand-ins.
	demo bool
}

// errTerminalLost ends the monitor when its terminal went away.
var errTerminalLost = errors.New("the terminal went away")

// runTUI shows the monitor on the terminal until the user quits. A
// terminal that goes away without a SIGHUP (a tmux server killed, a
// process started with setsid) ends it with errTerminalLost: left alone,
// the monitor would wait for a key forever and never write its report.
func runTUI(ctx context.Context, eng *warmup.Engine, in io.Reader, out io.Writer, mo monitorOptions) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go watchTerminal(ctx, out, func() { cancel(errTerminalLost) })
	err := tui.Run(ctx, eng, tui.Options{ExitWhenDone: mo.exitWhenDone, Demo: mo.demo, Input: in, Output: out})
	if errors.Is(context.Cause(ctx), errTerminalLost) {
		return errTerminalLost
	}
	return err
}

// terminalCheckEvery is how often the monitor's terminal is checked.
const terminalCheckEvery = time.Second

// watchTerminal calls lost once out, a terminal, has hung up.
func watchTerminal(ctx context.Context, out io.Writer, lost func()) {
	f, ok := out.(interface{ Fd() uintptr })
	if !ok {
		return
	}
	t := time.NewTicker(terminalCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if hungUp(f.Fd()) {
				lost()
				return
			}
		}
	}
}
