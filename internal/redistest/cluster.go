package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster on loopback owned by one test.
type Cluster struct {
	t testing.TB
	// Nodes are every node, masters first as created.
	Nodes []*Server
	// Client is a cluster client, for checking what was written.
	Client *redis.ClusterClient
}

// NodeTimeout is the clusters' cluster-node-timeout: short, so that a
// failover in a test takes seconds.
const NodeTimeout = 2 * time.Second

// cliPath returns redis-cli, or skips (fails under Require) the test.
func cliPath(t testing.TB) string {
	t.Helper()
	return lookPath(t, "redis-cli", "redis-tools")
}

// StartCluster starts masters nodes, each with replicasPerMaster
// replicas, joins them with redis-cli --cluster create, and returns once
// every node sees the cluster ok and every replica is in sync. The
// cluster stops when the test ends.
func StartCluster(t testing.TB, masters, replicasPerMaster int) *Cluster {
	t.Helper()
	cli := cliPath(t)
	c := &Cluster{t: t}
	args := []string{cli, "--cluster", "create"}
	for range masters * (1 + replicasPerMaster) {
		n := Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.Itoa(int(NodeTimeout/time.Millisecond)))
		c.Nodes = append(c.Nodes, n)
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicasPerMaster), "--cluster-yes")
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK()
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	c.Client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { c.Client.Close() })
	return c
}

// Addr is the address of the first node.
func (c *Cluster) Addr() string { return c.Nodes[0].Addr() }

// URL is the redis:// URL of the first node: what a user would point
// cachewarm at.
func (c *Cluster) URL() string { return "redis://" + c.Addr() }

// WaitOK waits until every live node sees the cluster ok with all
// 16384 slots assigned, and every replica's link to its master is up.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	c.waitFor(30*time.Second, "the cluster to be ok", func(ctx context.Context) error {
		for _, n := range c.Nodes {
			if n.cmd == nil {
				continue
			}
			info, err := n.Client.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				return fmt.Errorf("%s: %s", n.Addr(), info)
			}
			repl, err := n.Client.Info(ctx, "replication").Result()
			if err != nil {
				return err
			}
			if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
				return fmt.Errorf("%s: replica not in sync", n.Addr())
			}
		}
		return nil
	})
}

// waitFor polls check until it succeeds or timeout passes.
func (c *Cluster) waitFor(timeout time.Duration, what string, check func(context.Context) error) {
	c.t.Helper()
	waitFor(c.t, timeout, what, check)
}

func waitFor(t testing.TB, timeout time.Duration, what string, check func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// node is the node at addr.
func (c *Cluster) node(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	c.t.Fatalf("no node at %s", addr)
	return nil
}

// ID is the cluster node ID of n.
func (c *Cluster) ID(n *Server) string {
	c.t.Helper()
	id, err := n.Client.Do(context.Background(), "CLUSTER", "MYID").Text()
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

// Masters returns the nodes that are masters now.
func (c *Cluster) Masters() []*Server {
	c.t.Helper()
	var ms []*Server
	for _, n := range c.Nodes {
		if n.cmd == nil {
			continue
		}
		role, err := n.Client.Do(context.Background(), "ROLE").Slice()
		if err != nil {
			c.t.Fatal(err)
		}
		if len(role) > 0 && role[0] == "master" {
			ms = append(ms, n)
		}
	}
	return ms
}

// SlotOwners maps every slot to the address of the master that owns it
// now.
func (c *Cluster) SlotOwners() []string {
	c.t.Helper()
	shards, err := c.Masters()[0].Client.ClusterShards(context.Background()).Result()
	if err != nil {
		c.t.Fatal(err)
	}
	owner := make([]string, 16384)
	for _, sh := range shards {
		for _, n := range sh.Nodes {
			if n.Role != "master" {
				continue
			}
			for _, r := range sh.Slots {
				for s := r.Start; s <= r.End; s++ {
					owner[s] = net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
				}
			}
		}
	}
	return owner
}

// Reshard moves slots slots from master from to master to with
// redis-cli --cluster reshard, keys and all.
func (c *Cluster) Reshard(from, to *Server, slots int) error {
	out, err := exec.Command(cliPath(c.t), "--cluster", "reshard", from.Addr(),
		"--cluster-from", c.ID(from), "--cluster-to", c.ID(to),
		"--cluster-slots", strconv.Itoa(slots), "--cluster-yes", "--cluster-pipeline", "100").CombinedOutput()
	if err != nil {
		return fmt.Errorf("redis-cli --cluster reshard: %v\n%s", err, out)
	}
	return nil
}

// Failover makes a replica of master take over (CLUSTER FAILOVER) and
// returns it once it is a master.
func (c *Cluster) Failover(master *Server) *Server {
	c.t.Helper()
	ctx := context.Background()
	replicas, err := master.Client.Do(ctx, "CLUSTER", "REPLICAS", c.ID(master)).StringSlice()
	if err != nil || len(replicas) == 0 {
		c.t.Fatalf("CLUSTER REPLICAS of %s: %v %v", master.Addr(), replicas, err)
	}
	// "<id> <ip:port@cport> ..."
	addr, _, _ := strings.Cut(strings.Fields(replicas[0])[1], "@")
	r := c.node(addr)
	if err := r.Client.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
		c.t.Fatalf("CLUSTER FAILOVER on %s: %v", addr, err)
	}
	c.waitFor(30*time.Second, addr+" to take over", func(ctx context.Context) error {
		role, err := r.Client.Do(ctx, "ROLE").Slice()
		if err != nil {
			return err
		}
		if role[0] != "master" {
			return fmt.Errorf("%s is still a %v", addr, role[0])
		}
		return nil
	})
	return r
}

// Keys returns every key on the masters, by the master holding it.
func (c *Cluster) Keys(pattern string) map[*Server][]string {
	c.t.Helper()
	out := map[*Server][]string{}
	for _, m := range c.Masters() {
		out[m] = m.Keys(pattern)
	}
	return out
}
