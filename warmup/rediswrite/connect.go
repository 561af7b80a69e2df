package rediswrite

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/ctxsleep"
	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// Connect opens a go-redis client for rc and checks that the server
// answers. A server that says it is a cluster node (INFO cluster:
// cluster_enabled:1) gets a cluster client seeded with its address, as
// cluster = true or seed addrs ask for; a sentinel URL or table gets a
// failover client. Errors name the address with its password redacted.
func Connect(ctx context.Context, rc config.RedisConfig, poolSize int, timeout time.Duration) (*Target, error) {
	rawURL := rc.URL
	shown := redact.URL(rawURL)
	opts, err := baseOptions(rc)
	if err != nil {
		return nil, fmt.Errorf("redis URL %s: %s", shown, strings.ReplaceAll(err.Error(), rawURL, shown))
	}
	if rc.Password != "" {
		opts.Password = rc.Password
	}
	if opts.TLSConfig != nil {
		if err := configureTLS(opts.TLSConfig, rc); err != nil {
			return nil, fmt.Errorf("redis TLS for %s: %w", shown, err)
		}
	} else if rc.TLSCA != "" || rc.TLSCert != "" {
		return nil, fmt.Errorf("redis %s: tls_ca/tls_cert need a rediss:// URL", shown)
	}
	opts.PoolSize = poolSize
	opts.MinIdleConns = 0
	// Retries are cachewarm's own (with backoff and a reason per item).
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.ContextTimeoutEnabled = true
	opts.DialTimeout = min(timeout, 5*time.Second)
	opts.ReadTimeout = timeout
	opts.WriteTimeout = timeout
	opts.DisableIdentity = true
	// RESP2: SET replies are the same, and go-redis then skips looking for
	// RESP3 push notifications before every reply of a pipeline.
	opts.Protocol = 2

	pctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	var rdb redis.UniversalClient
	switch {
	case rc.Sentinel != nil:
		fo := failoverOptions(opts, rc)
		rdb = redis.NewFailoverClient(fo)
		if err := rdb.Ping(pctx).Err(); err != nil {
			rdb.Close()
			// The ping may have spent pctx: the hint has time of its own.
			hctx, hcancel := context.WithTimeout(ctx, opts.DialTimeout)
			defer hcancel()
			return nil, &connectError{msg: fmt.Sprintf("cannot reach Redis master %q through the sentinels at %s: %s%s", rc.Sentinel.Master, strings.Join(rc.Sentinel.Addrs, ","), Cause(err, opts.DialTimeout), sentinelAuthHint(hctx, fo)), err: err}
		}
		return newSentinelTarget(pctx, rdb.(*redis.Client), fo), nil
	case rc.Cluster:
		addrs := rc.Addrs
		if len(addrs) == 0 {
			addrs = []string{opts.Addr}
		}
		if rdb, err = openCluster(pctx, opts, addrs, shown); err != nil {
			return nil, err
		}
	default:
		rdb = redis.NewClient(opts)
		if err := rdb.Ping(pctx).Err(); err != nil {
			rdb.Close()
			return nil, &connectError{msg: fmt.Sprintf("cannot reach Redis at %s: %s", shown, Cause(err, opts.DialTimeout)), err: err}
		}
		// A cluster node answers a plain client too, but turns away every
		// key whose slot it does not own (MOVED): ask before writing.
		if info, err := rdb.Info(pctx, "cluster").Result(); err == nil && strings.Contains(info, "cluster_enabled:1") {
			rdb.Close()
			if rdb, err = openCluster(pctx, opts, []string{opts.Addr}, shown); err != nil {
				return nil, err
			}
		}
	}
	return NewTarget(pctx, rdb), nil
}

// connectError is why Connect failed, as a user reads it, over the
// error it came from, for ConnectWaiting to tell a starting Redis from
// a wrong address.
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string { return e.msg }
func (e *connectError) Unwrap() error { return e.err }

// ConnectWaiting is Connect, waiting as a running run waits for Redis:
// while Redis is starting (LOADING its data, MASTERDOWN, CLUSTERDOWN, or
// refusing connections), it tries again with backoff for up to wait
// (run.redis_wait). waiting, when set, is called once, with the cause,
// when the wait begins. Other failures (a wrong password, a bad address)
// return at once.
func ConnectWaiting(ctx context.Context, rc config.RedisConfig, poolSize int, timeout, wait time.Duration, waiting func(cause string)) (*Target, error) {
	var since time.Time
	delay := 50 * time.Millisecond
	for {
		t, err := Connect(ctx, rc, poolSize, timeout)
		if err == nil || !isStarting(err) || ctx.Err() != nil {
			return t, err
		}
		if since.IsZero() {
			since = time.Now()
			if waiting != nil {
				waiting(err.Error())
			}
		}
		if time.Since(since) >= wait {
			return nil, fmt.Errorf("%w (waited %s, run.redis_wait)", err, wait)
		}
		if !ctxsleep.Sleep(ctx, delay) {
			return nil, err
		}
		delay = min(2*delay, time.Second)
	}
}

// isStarting says whether err is what a Redis that is starting, or
// whose master is being replaced, answers.
func isStarting(err error) bool {
	return redis.IsLoadingError(err) || redis.IsMasterDownError(err) || redis.IsClusterDownError(err) ||
		errors.Is(err, syscall.ECONNREFUSED)
}

// baseOptions reads rc's URL into client options; a sentinel URL gives
// the master's credentials and database.
func baseOptions(rc config.RedisConfig) (*redis.Options, error) {
	if rc.Sentinel == nil {
		return redis.ParseURL(rc.URL)
	}
	opts := &redis.Options{DB: rc.Sentinel.DB}
	if u, err := url.Parse(rc.URL); err == nil && u.User != nil {
		opts.Username = u.User.Username()
		opts.Password, _ = u.User.Password()
	}
	return opts, nil
}

// openCluster opens a cluster client with opts' settings, seeded with
// addrs, and waits until it has read the slot map.
func openCluster(ctx context.Context, opts *redis.Options, addrs []string, shown string) (*redis.ClusterClient, error) {
	if opts.DB != 0 {
		return nil, fmt.Errorf("redis %s is a cluster: it has only database 0, the URL asks for %d", shown, opts.DB)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs, Username: opts.Username, Password: opts.Password, TLSConfig: opts.TLSConfig,
		// MOVED and ASK during a resharding are followed by go-redis, per
		// command: enough redirects for a slot that moves twice. A dead
		// node's commands are retried as often, with backoff, before they
		// fail and the engine waits for the cluster itself.
		MaxRedirects: 5,
		PoolSize:     opts.PoolSize, MinIdleConns: opts.MinIdleConns,
		DialerRetries: opts.DialerRetries, ContextTimeoutEnabled: opts.ContextTimeoutEnabled,
		DialTimeout: opts.DialTimeout, ReadTimeout: opts.ReadTimeout, WriteTimeout: opts.WriteTimeout,
		DisableIdentity: opts.DisableIdentity, Protocol: opts.Protocol,
	})
	// A slot map is needed before the first write: reading every master
	// also proves the seeds were cluster nodes.
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	if err != nil {
		cc.Close()
		return nil, &connectError{msg: fmt.Sprintf("cannot reach Redis cluster at %s: %s", strings.Join(addrs, ","), Cause(err, opts.DialTimeout)), err: err}
	}
	return cc, nil
}

// sentinelAuthHint says where the sentinels' password goes when the
// sentinels refuse fo's credentials for them (the master's are another
// matter): the first sentinel that answers says, else "".
func sentinelAuthHint(ctx context.Context, fo *redis.FailoverOptions) string {
	for _, addr := range fo.SentinelAddrs {
		sc := sentinelClient(fo, addr)
		err := sc.Ping(ctx).Err()
		sc.Close()
		switch {
		case err == nil:
			return ""
		case !redis.IsAuthError(err):
			continue
		case fo.SentinelPassword == "":
			return " (the sentinels ask for a password of their own: it goes in redis.sentinel_password_file; the URL's is the master's)"
		default:
			return " (the sentinels refuse redis.sentinel_password_file's password)"
		}
	}
	return ""
}

// failoverOptions are opts for the master that rc's sentinels name,
// asked with the sentinels' own credentials.
func failoverOptions(opts *redis.Options, rc config.RedisConfig) *redis.FailoverOptions {
	sc := rc.Sentinel
	return &redis.FailoverOptions{
		MasterName: sc.Master, SentinelAddrs: sc.Addrs, DB: sc.DB,
		Username: opts.Username, Password: opts.Password,
		SentinelUsername: rc.SentinelUsername, SentinelPassword: rc.SentinelPassword,
		PoolSize: opts.PoolSize, MinIdleConns: opts.MinIdleConns, MaxRetries: opts.MaxRetries,
		DialerRetries: opts.DialerRetries, ContextTimeoutEnabled: opts.ContextTimeoutEnabled,
		DialTimeout: opts.DialTimeout, ReadTimeout: opts.ReadTimeout, WriteTimeout: opts.WriteTimeout,
		DisableIdentity: opts.DisableIdentity, Protocol: opts.Protocol,
	}
}

func configureTLS(tc *tls.Config, rc config.RedisConfig) error {
	if rc.TLSCA != "" {
		pem, err := os.ReadFile(rc.TLSCA)
		if err != nil {
			return fmt.Errorf("tls_ca: %s", source.FileErr(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls_ca: %s holds no PEM certificate", rc.TLSCA)
		}
		tc.RootCAs = pool
	}
	if rc.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(rc.TLSCert, rc.TLSKey)
		if err != nil {
			return fmt.Errorf("tls_cert/tls_key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tc.InsecureSkipVerify = rc.TLSInsecureSkipVerify
	return nil
}

// EvictionWarning returns a warning when the server may evict the keys
// being warmed, or "".
func EvictionWarning(ctx context.Context, rdb redis.UniversalClient) string {
	res, err := rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return ""
	}
	policy := res["maxmemory-policy"]
	if strings.HasPrefix(policy, "allkeys-") {
		return fmt.Sprintf("warning: Redis maxmemory-policy is %s: warmed keys may be evicted when memory is full", policy)
	}
	return ""
}

// EvictedKeys is how many keys the server has evicted since it started
// (INFO stats evicted_keys), summed over the masters of a cluster.
func (t *Target) EvictedKeys(ctx context.Context) (int64, error) {
	if c, ok := t.UniversalClient.(*redis.ClusterClient); ok {
		var sum atomic.Int64
		err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			n, err := evictedKeys(ctx, node)
			sum.Add(n)
			return err
		})
		return sum.Load(), err
	}
	return evictedKeys(ctx, t.UniversalClient)
}

// evictedKeys reads evicted_keys from one server's INFO stats.
func evictedKeys(ctx context.Context, rdb redis.Cmdable) (int64, error) {
	info, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		return 0, fmt.Errorf("INFO stats: %w", err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "evicted_keys:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("INFO stats: evicted_keys %q: %w", v, err)
			}
			return n, nil
		}
	}
	return 0, errors.New("INFO stats: no evicted_keys")
}
