package tui

import "github.com/cachewarm/cachewarm/warmup"

// The real engine is what the monitor runs on.
var _ Engine = (*warmup.Engine)(nil)
