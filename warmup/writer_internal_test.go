package warmup

import "testing"

// A cluster's masters each get as many pipelines in flight as one server
// does, and a large cluster does not multiply the items held in memory
// without bound.
func TestPipelinesFollowMastersWithinBound(t *testing.T) {
	for _, tc := range []struct{ masters, want int }{
		{0, 4}, {1, 4}, {3, 12}, {4, 16}, {30, maxPipelines},
	} {
		if got := pipelinesFor(tc.masters); got != tc.want {
			t.Errorf("pipelinesFor(%d) = %d, want %d", tc.masters, got, tc.want)
		}
	}
}
