package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a master, one replica and three sentinels watching them
// on loopback, owned by one test.
type Sentinel struct {
	t       testing.TB
	Master  *Server
	Replica *Server
	// Sentinels are redis-server --sentinel processes; their Client
	// speaks to a sentinel.
	Sentinels []*Server
	// Name is the master's name: "mymaster".
	Name string
}

// StartSentinel starts a master, a replica in sync with it, and three
// sentinels that know both. They stop when the test ends.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	return startSentinel(t, "")
}

// StartSentinelAuth is StartSentinel with sentinels that ask for a
// password of their own (requirepass, and sentinel-pass between them).
func StartSentinelAuth(t testing.TB, password string) *Sentinel {
	t.Helper()
	return startSentinel(t, password)
}

func startSentinel(t testing.TB, password string) *Sentinel {
	t.Helper()
	bin := Path(t)
	s := &Sentinel{t: t, Name: "mymaster"}
	s.Master = Start(t)
	s.Replica = Start(t, "--replicaof", "127.0.0.1", strconv.Itoa(s.Master.Port))
	waitFor(t, 30*time.Second, "the replica to sync", func(ctx context.Context) error {
		info, err := s.Replica.Client.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "master_link_status:up") {
			return fmt.Errorf("replica link is not up")
		}
		return nil
	})
	for range 3 {
		n := &Server{t: t, dir: t.TempDir(), Port: FreePort(t), ready: "+monitor master"}
		conf := filepath.Join(n.dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %[3]s 1000\nsentinel failover-timeout %[3]s 10000\n",
			n.Port, n.dir, s.Name, s.Master.Port)
		if password != "" {
			text += fmt.Sprintf("requirepass %q\nsentinel sentinel-pass %[1]q\n", password)
		}
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		n.args = []string{conf, "--sentinel"}
		n.start(bin)
		n.Client = redis.NewClient(&redis.Options{Addr: n.Addr(), Password: password})
		t.Cleanup(func() {
			n.Client.Close()
			n.Kill()
		})
		s.Sentinels = append(s.Sentinels, n)
	}
	// SENTINEL FAILOVER needs a replica the sentinel knows of.
	for _, n := range s.Sentinels {
		waitFor(t, 30*time.Second, "the sentinels to see the replica", func(ctx context.Context) error {
			reps, err := n.Client.Do(ctx, "SENTINEL", "REPLICAS", s.Name).Slice()
			if err != nil {
				return err
			}
			if len(reps) == 0 {
				return fmt.Errorf("sentinel %s sees no replica", n.Addr())
			}
			return nil
		})
	}
	return s
}

// URL is the redis+sentinel:// URL naming the three sentinels and the
// master.
func (s *Sentinel) URL() string {
	addrs := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		addrs[i] = n.Addr()
	}
	return "redis+sentinel://" + strings.Join(addrs, ",") + "/" + s.Name
}

// MasterAddr is where the sentinels say the master is.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	a, err := s.Sentinels[0].Client.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.Name).StringSlice()
	if err != nil {
		return "", err
	}
	if len(a) != 2 {
		return "", fmt.Errorf("sentinel answered %v", a)
	}
	return net.JoinHostPort(a[0], a[1]), nil
}

// Failover asks a sentinel to fail the master over (SENTINEL FAILOVER)
// and returns once the replica is the master the sentinels name and
// takes writes; Master and Replica are swapped.
func (s *Sentinel) Failover() {
	s.t.Helper()
	if err := s.Sentinels[0].Client.Do(context.Background(), "SENTINEL", "FAILOVER", s.Name).Err(); err != nil {
		s.t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	next := s.Replica
	waitFor(s.t, 30*time.Second, "the replica to take over", func(ctx context.Context) error {
		addr, err := s.MasterAddr(ctx)
		if err != nil {
			return err
		}
		if addr != next.Addr() {
			return fmt.Errorf("the master is still %s", addr)
		}
		role, err := next.Client.Do(ctx, "ROLE").Slice()
		if err != nil {
			return err
		}
		if role[0] != "master" {
			return fmt.Errorf("%s is a %v", next.Addr(), role[0])
		}
		return nil
	})
	s.Master, s.Replica = next, s.Master
}
