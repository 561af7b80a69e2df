package rediswrite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Memory is one master's memory as INFO memory and INFO stats tell it.
type Memory struct {
	Addr string
	// Used is used_memory, Max maxmemory (0: no limit), in bytes.
	Used, Max int64
	// Policy is maxmemory_policy: "noeviction" refuses writes (OOM) once
	// Used reaches Max; "allkeys-*" evicts any key, warmed ones too.
	Policy string
	// Evicted is evicted_keys since the server started.
	Evicted int64
}

// Free is what the master can still take before maxmemory, -1 when it
// has no limit.
func (m Memory) Free() int64 {
	if m.Max <= 0 {
		return -1
	}
	return max(0, m.Max-m.Used)
}

// Evicts says whether the master evicts keys when full.
func (m Memory) Evicts() bool { return m.Max > 0 && m.Policy != "" && m.Policy != "noeviction" }

// Memory reads each master's memory: one server's, or every master's of a
// cluster (each holds only its slots' keys, and fills on its own).
func (t *Target) Memory(ctx context.Context) ([]Memory, error) {
	if c, ok := t.UniversalClient.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		var out []Memory
		err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			m, err := memoryOf(ctx, node, node.Options().Addr)
			mu.Lock()
			out = append(out, m)
			mu.Unlock()
			return err
		})
		return out, err
	}
	m, err := memoryOf(ctx, t.UniversalClient, t.Addr())
	return []Memory{m}, err
}

// memoryOf reads one server's INFO memory and stats in one round trip.
func memoryOf(ctx context.Context, rdb redis.Cmdable, addr string) (Memory, error) {
	m := Memory{Addr: addr}
	info, err := rdb.Info(ctx, "memory", "stats").Result()
	if err != nil {
		return m, fmt.Errorf("INFO memory: %w", err)
	}
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "used_memory":
			m.Used, err = strconv.ParseInt(v, 10, 64)
		case "maxmemory":
			m.Max, err = strconv.ParseInt(v, 10, 64)
		case "maxmemory_policy":
			m.Policy = v
		case "evicted_keys":
			m.Evicted, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			return m, fmt.Errorf("INFO memory: %s %q: %w", k, v, err)
		}
	}
	return m, nil
}
