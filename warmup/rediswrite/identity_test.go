package rediswrite

import (
	"slices"
	"testing"
)

// cluster is an Identity of masters serving the slot ranges given, in
// order: masters[i] serves [bounds[i], bounds[i+1]).
func cluster(masters []Server, bounds ...int) Identity {
	id := Identity{servers: masters, slots: make([]int16, slotCount)}
	for s := range id.slots {
		id.slots[s] = -1
	}
	for i := range masters {
		for s := bounds[i]; s < bounds[i+1]; s++ {
			id.slots[s] = int16(i)
		}
	}
	return id
}

func TestIdentityCompare(t *testing.T) {
	a, b, c := Server{"10.0.0.1:6379", "aaaa"}, Server{"10.0.0.2:6379", "bbbb"}, Server{"10.0.0.3:6379", "cccc"}
	aRestarted := Server{a.Addr, "a2a2"}
	tests := []struct {
		name      string
		old, cur  Identity
		changes   []Change
		doubtful  int // slots in doubt; -1: every key
		firstSlot int
	}{
		{"same server", Identity{servers: []Server{a}}, Identity{servers: []Server{a}}, nil, 0, 0},
		{"restarted", Identity{servers: []Server{a}}, Identity{servers: []Server{aRestarted}}, []Change{{a, aRestarted}}, -1, 0},
		{"sentinel failover", Identity{servers: []Server{a}}, Identity{servers: []Server{b}}, []Change{{a, b}}, -1, 0},
		{"cluster unchanged", cluster([]Server{a, b}, 0, 8192, slotCount), cluster([]Server{a, b}, 0, 8192, slotCount), nil, 0, 0},
		{"cluster master replaced", cluster([]Server{a, b}, 0, 8192, slotCount), cluster([]Server{c, b}, 0, 8192, slotCount), []Change{{a, c}}, 8192, 0},
		{"cluster master restarted", cluster([]Server{a, b}, 0, 8192, slotCount), cluster([]Server{a, Server{b.Addr, "b2b2"}}, 0, 8192, slotCount), []Change{{b, Server{b.Addr, "b2b2"}}}, 8192, 8192},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			changes, slots := tc.old.Compare(tc.cur)
			if !slices.Equal(changes, tc.changes) {
				t.Fatalf("changes %v, want %v", changes, tc.changes)
			}
			n := -1
			if slots != nil {
				n = 0
				for _, in := range slots {
					if in {
						n++
					}
				}
			} else if len(changes) == 0 {
				n = 0
			}
			if n != tc.doubtful || (n > 0 && !slots[tc.firstSlot]) {
				t.Fatalf("%d slots in doubt, want %d from %d", n, tc.doubtful, tc.firstSlot)
			}
		})
	}
}

// A slot left without a master is not in doubt yet, and the master that
// served it stays known: once a new one serves it, the change is seen.
func TestIdentityMergeKeepsUnservedSlots(t *testing.T) {
	a, b, c := Server{"10.0.0.1:6379", "aaaa"}, Server{"10.0.0.2:6379", "bbbb"}, Server{"10.0.0.3:6379", "cccc"}
	old := cluster([]Server{a, b}, 0, 8192, slotCount)
	down := cluster([]Server{a, b}, 0, 8192, slotCount)
	for s := range 8192 {
		down.slots[s] = -1
	}
	if changes, _ := old.Compare(down); len(changes) != 0 {
		t.Fatalf("changes %v while a's slots have no master", changes)
	}
	known := old.Merge(down)
	changes, slots := known.Compare(cluster([]Server{c, b}, 0, 8192, slotCount))
	if !slices.Equal(changes, []Change{{a, c}}) || !slots[0] || slots[8192] {
		t.Fatalf("changes %v after c took a's slots", changes)
	}
}
