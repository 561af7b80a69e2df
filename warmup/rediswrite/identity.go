package rediswrite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// slotCount is how many hash slots a cluster has.
const slotCount = 16384

// Server is one Redis process that acknowledges writes: its address and
// the run_id INFO server gives it, which changes when the process
// restarts; a failover to another server changes the address as well.
type Server struct {
	Addr  string
	RunID string
}

// Identity is which processes acknowledge the run's writes: the one
// server (a sentinel target: the master it names now), or per cluster
// slot the master that serves it. A write one of them acknowledged holds
// only while that same process serves its key.
type Identity struct {
	servers []Server
	// slots names, per cluster slot, its master's index in servers (-1:
	// no master); nil unless the target is a cluster.
	slots []int16
}

// Change is one process that acknowledged writes and no longer serves
// them: From's keys are in doubt, now served by To.
type Change struct {
	From, To Server
}

// Identity reads which processes acknowledge writes now.
func (t *Target) Identity(ctx context.Context) (Identity, error) {
	c, ok := t.UniversalClient.(*redis.ClusterClient)
	if !ok {
		if t.sentinel != nil {
			// The master's address, as the sentinels name it now.
			t.refresh(ctx)
		}
		s, err := serverOf(ctx, t.UniversalClient, t.Addr())
		return Identity{servers: []Server{s}}, err
	}
	//lint:ignore SA1019 CLUSTER SHARDS needs Redis 7; CLUSTER SLOTS answers on every version cachewarm writes to.
	ranges, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		return Identity{}, fmt.Errorf("CLUSTER SLOTS: %w", err)
	}
	var mu sync.Mutex
	byAddr := map[string]string{}
	err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		s, err := serverOf(ctx, node, node.Options().Addr)
		mu.Lock()
		byAddr[s.Addr] = s.RunID
		mu.Unlock()
		return err
	})
	if err != nil {
		return Identity{}, err
	}
	id := Identity{slots: make([]int16, slotCount)}
	for i := range id.slots {
		id.slots[i] = -1
	}
	index := map[string]int16{}
	for _, r := range ranges {
		if len(r.Nodes) == 0 {
			continue
		}
		addr := r.Nodes[0].Addr
		i, ok := index[addr]
		if !ok {
			i = int16(len(id.servers))
			index[addr] = i
			id.servers = append(id.servers, Server{Addr: addr, RunID: byAddr[addr]})
		}
		for s := max(r.Start, 0); s <= min(r.End, slotCount-1); s++ {
			id.slots[s] = i
		}
	}
	return id, nil
}

// serverOf reads one server's run_id; addr is how it is named.
func serverOf(ctx context.Context, rdb redis.Cmdable, addr string) (Server, error) {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return Server{Addr: addr}, fmt.Errorf("INFO server: %w", err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return Server{Addr: addr, RunID: v}, nil
		}
	}
	return Server{Addr: addr}, errors.New("INFO server: no run_id")
}

// Known says whether id was read (an empty Identity is not).
func (id Identity) Known() bool { return len(id.servers) > 0 }

// Processes names the processes of id ("10.0.0.5:6379 a1b2c3…"), sorted:
// what a report records, for a later run to tell whether the processes
// that acknowledged its writes still serve them.
func (id Identity) Processes() []string {
	out := make([]string, 0, len(id.servers))
	for _, s := range id.servers {
		out = append(out, s.Addr+" "+s.RunID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Compare says which processes of id no longer serve their keys in cur,
// and, for a cluster, the slots whose keys are in doubt (nil: every key
// is, or none when there is no change). A slot that has no master in cur
// is not compared: its keys cannot be read until one serves it, and the
// next comparison sees who.
func (id Identity) Compare(cur Identity) (changes []Change, slots []bool) {
	if id.slots == nil || cur.slots == nil {
		if len(id.servers) > 0 && len(cur.servers) > 0 && id.servers[0] != cur.servers[0] {
			changes = append(changes, Change{From: id.servers[0], To: cur.servers[0]})
		}
		return changes, nil
	}
	seen := map[Change]bool{}
	for s := range slotCount {
		a, b := id.slots[s], cur.slots[s]
		if a < 0 || b < 0 || id.servers[a] == cur.servers[b] {
			continue
		}
		if slots == nil {
			slots = make([]bool, slotCount)
		}
		slots[s] = true
		if c := (Change{From: id.servers[a], To: cur.servers[b]}); !seen[c] {
			seen[c] = true
			changes = append(changes, c)
		}
	}
	return changes, slots
}

// Merge is id with cur's servers for the slots cur serves: what the
// next comparison starts from. Slots cur leaves without a master keep
// id's.
func (id Identity) Merge(cur Identity) Identity {
	if id.slots == nil || cur.slots == nil {
		if cur.Known() {
			return cur
		}
		return id
	}
	out := Identity{servers: append([]Server(nil), cur.servers...), slots: append([]int16(nil), cur.slots...)}
	index := map[Server]int16{}
	for s := range slotCount {
		if out.slots[s] >= 0 || id.slots[s] < 0 {
			continue
		}
		old := id.servers[id.slots[s]]
		i, ok := index[old]
		if !ok {
			i = int16(len(out.servers))
			index[old] = i
			out.servers = append(out.servers, old)
		}
		out.slots[s] = i
	}
	return out
}
