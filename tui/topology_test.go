package tui

import (
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup"
)

// The header says what the target is when it is more than one server.
func TestHeaderShowsTopology(t *testing.T) {
	for _, topo := range []string{"cluster · 3 masters", "sentinel mymaster 127.0.0.1:6380"} {
		h := newHeader(NewContext(120, 40), false)
		h.SetSize(120, headerHeight)
		h.SetSnapshot(warmup.Snapshot{Redis: "redis://127.0.0.1:7001", Topology: topo, State: warmup.StateRunning}, nil)
		if v := h.View(); !strings.Contains(v, topo) {
			t.Errorf("header does not show %q:\n%s", topo, v)
		}
	}
}
