package main

import (
	"context"
	"io"

	"github.com/cachewarm/cachewarm/tui"
	"github.com/cachewarm/cachewarm/warmup"
)

// runTUI shows the monitor on the terminal until the user quits.
func runTUI(ctx context.Context, eng *warmup.Engine, in io.Reader, out io.Writer, exitWhenDone bool) error {
	return tui.Run(ctx, eng, tui.Options{ExitWhenDone: exitWhenDone, Input: in, Output: out})
}
