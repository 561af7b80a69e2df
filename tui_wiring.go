package main

import (
	"context"
	"errors"
	"io"

	"github.com/cachewarm/cachewarm/warmup"
)

func runTUI(ctx context.Context, eng *warmup.Engine, in io.Reader, out io.Writer, exitWhenDone bool) error {
	return errors.New("the monitor is not built yet; use --plain")
}
