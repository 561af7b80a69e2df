package ctxsleep_test

import (
	"context"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/ctxsleep"
)

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if !ctxsleep.Sleep(ctx, 0) || !ctxsleep.Sleep(ctx, time.Nanosecond) {
		t.Error("a live context: Sleep said stop")
	}
	cancel()
	// An hour's sleep on a stopped context returns at once, false.
	if ctxsleep.Sleep(ctx, time.Hour) || ctxsleep.Sleep(ctx, 0) {
		t.Error("a stopped context: Sleep said go on")
	}
}
