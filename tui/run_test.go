package tui

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunExitsWhenDone(t *testing.T) {
	eng := newFake(doneWithFailures())
	var out bytes.Buffer
	// The deadline turns "never exits" into a failure rather than a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Run(ctx, eng, Options{ExitWhenDone: true, Input: &bytes.Buffer{}, Output: &out})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if eng.snapshots == 0 {
		t.Fatal("Run never read a snapshot")
	}
	// The monitor used the alternate screen and left it.
	if !bytes.Contains(out.Bytes(), []byte("\x1b[?1049h")) || !bytes.Contains(out.Bytes(), []byte("\x1b[?1049l")) {
		t.Fatalf("alternate screen not used: %q", out.String())
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Run(ctx, newFake(midRun()), Options{Input: &bytes.Buffer{}, Output: &bytes.Buffer{}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context: %v, want context.Canceled", err)
	}
}
