package main

import (
	"context"
	"io"

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

// runTUI shows the monitor on the terminal until the user quits.
func runTUI(ctx context.Context, eng *warmup.Engine, in io.Reader, out io.Writer, mo monitorOptions) error {
	return tui.Run(ctx, eng, tui.Options{ExitWhenDone: mo.exitWhenDone, Demo: mo.demo, Input: in, Output: out})
}
