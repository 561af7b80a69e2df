package rediswrite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Target is the Redis a run writes to: one server, a cluster, or the
// master a set of sentinels points at. It is a go-redis client with what
// the engine needs beyond commands: a probe that says whether writes can
// go through again, and a line saying what the target is.
type Target struct {
	redis.UniversalClient
	// sentinel is how to ask the sentinels where the master is now (nil
	// unless the target is a sentinel-managed master).
	sentinel *redis.FailoverOptions
	// topology is what Topology returns and masterAddr where a sentinel
	// master was last seen; Probe refreshes both.
	topology   atomic.Pointer[string]
	masterAddr atomic.Pointer[string]
	// masters is how many masters a cluster had when last counted.
	masters atomic.Int32
}

// NewTarget wraps a go-redis client: a *redis.ClusterClient is a
// cluster, anything else one server.
func NewTarget(ctx context.Context, rdb redis.UniversalClient) *Target {
	if t, ok := rdb.(*Target); ok {
		return t
	}
	t := &Target{UniversalClient: rdb}
	t.refresh(ctx)
	return t
}

// newSentinelTarget wraps a failover client with a client of its
// sentinels, to name the master's current address.
func newSentinelTarget(ctx context.Context, rdb *redis.Client, fo *redis.FailoverOptions) *Target {
	t := &Target{UniversalClient: rdb, sentinel: fo}
	t.refresh(ctx)
	return t
}

// Topology says what the target is when it is more than one server:
// "cluster · 3 masters", "sentinel mymaster 127.0.0.1:6380"; "" for one
// server.
func (t *Target) Topology() string {
	if p := t.topology.Load(); p != nil {
		return *p
	}
	return ""
}

// Replicas is how many replicas must confirm a write before it counts:
// 1 for a sentinel-managed master, whose failover promotes a replica
// while the old master still answers OK to writes the new one never
// gets; 0 otherwise. It is 1 even while the master has no replica: one
// may attach and be promoted at any moment, and a write only its old
// master held would be lost while counted as written.
func (t *Target) Replicas() int {
	if t.sentinel != nil {
		return 1
	}
	return 0
}

// Masters is how many masters take writes: a cluster's, as counted when
// the target was made or last probed, else 1.
func (t *Target) Masters() int { return max(1, int(t.masters.Load())) }

// IsCluster says whether writes go through a cluster client.
func (t *Target) IsCluster() bool {
	_, ok := t.UniversalClient.(*redis.ClusterClient)
	return ok
}

// Addr is the server a failure is blamed on when the error does not say:
// the one server, the current sentinel master, "" for a cluster (whose
// errors name their node).
func (t *Target) Addr() string {
	switch c := t.UniversalClient.(type) {
	case *redis.Client:
		if t.sentinel != nil {
			if p := t.masterAddr.Load(); p != nil {
				return *p
			}
			return ""
		}
		return c.Options().Addr
	}
	return ""
}

// Probe succeeds only when the target can take writes again: the server
// answers; for a cluster, every master answers and sees the cluster as
// ok (after a failover the old master is gone from the slot map, and a
// slot without a master keeps the cluster down); for a sentinel target,
// the master the sentinels name now answers.
func (t *Target) Probe(ctx context.Context) error {
	var err error
	switch c := t.UniversalClient.(type) {
	case *redis.ClusterClient:
		// The slot map go-redis holds may still name a master that died:
		// reload it, so that the next probe asks the new one.
		c.ReloadState(ctx)
		err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			info, err := node.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("redis %s: cluster_state is not ok", node.Options().Addr)
			}
			return nil
		})
	default:
		if t.sentinel == nil {
			err = c.Ping(ctx).Err()
			break
		}
		// During a failover the old master answers as a replica until
		// go-redis hears of the switch, and the new one has no replica to
		// confirm writes until the sentinels attach the old one: neither
		// takes writes that count yet.
		var role []any
		if role, err = c.Do(ctx, "ROLE").Slice(); err == nil {
			switch {
			case len(role) < 3 || role[0] != "master":
				err = errors.New("not the master yet")
			case !hasReplicas(role[2], t.Replicas()):
				err = errors.New("the master has no replica to confirm writes")
			}
		}
	}
	t.refresh(ctx)
	return err
}

// refresh recomputes Topology.
func (t *Target) refresh(ctx context.Context) {
	var s string
	switch c := t.UniversalClient.(type) {
	case *redis.ClusterClient:
		var n atomic.Int32
		if c.ForEachMaster(ctx, func(context.Context, *redis.Client) error { n.Add(1); return nil }) != nil {
			return
		}
		t.masters.Store(n.Load())
		s = fmt.Sprintf("cluster · %d masters", n.Load())
	default:
		if t.sentinel == nil {
			return
		}
		s = "sentinel " + t.sentinel.MasterName
		if addr := t.askMaster(ctx); addr != "" {
			t.masterAddr.Store(&addr)
			s += " " + addr
		}
	}
	t.topology.Store(&s)
}

// askMaster asks the sentinels in turn where the master is, "" when
// none says.
func (t *Target) askMaster(ctx context.Context) string {
	fo := t.sentinel
	for _, a := range fo.SentinelAddrs {
		sc := sentinelClient(fo, a)
		addr, err := sc.GetMasterAddrByName(ctx, fo.MasterName).Result()
		sc.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1])
		}
	}
	return ""
}

// hasReplicas says whether ROLE's list of a master's replicas holds at
// least n.
func hasReplicas(list any, n int) bool {
	l, _ := list.([]any)
	return len(l) >= n
}

// sentinelClient is a client of the sentinel at addr, with fo's
// credentials for sentinels and its timeouts; retries are the caller's.
func sentinelClient(fo *redis.FailoverOptions, addr string) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: addr, Username: fo.SentinelUsername, Password: fo.SentinelPassword,
		DialTimeout: fo.DialTimeout, ReadTimeout: fo.ReadTimeout, WriteTimeout: fo.WriteTimeout, MaxRetries: -1, Protocol: 2, DisableIdentity: true})
}
