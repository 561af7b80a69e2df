package warmup

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Connect opens a go-redis client for rc and checks that the server
// answers. Errors name the address with its password redacted.
func Connect(ctx context.Context, rc RedisConfig, poolSize int, timeout time.Duration) (*redis.Client, error) {
	rawURL := rc.URL
	shown := RedactURL(rawURL)
	opts, err := redis.ParseURL(rawURL)
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
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s: %s", shown, describeRedisErr(pctx, err, opts.DialTimeout))
	}
	return rdb, nil
}

func configureTLS(tc *tls.Config, rc RedisConfig) error {
	if rc.TLSCA != "" {
		pem, err := os.ReadFile(rc.TLSCA)
		if err != nil {
			return fmt.Errorf("tls_ca: %s", describeFileErr(err))
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
func EvictionWarning(ctx context.Context, rdb *redis.Client) string {
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

// describeRedisErr shortens a go-redis error to its cause.
func describeRedisErr(ctx context.Context, err error, timeout time.Duration) string {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return rerr.Error()
	}
	return describeNetErr(ctx, err, timeout)
}

// redisTransient says whether a failed write may succeed when tried again.
func redisTransient(err error) bool {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range []string{"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN", "READONLY"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true // network trouble, timeouts
}

// writeReq is one SET waiting in a batch.
type writeReq struct {
	key   string
	value []byte
	ttl   time.Duration
	done  chan error
}

// writer batches SETs from many workers into pipelines. Every command's
// error is checked on its own, so one bad key does not fail its batch.
//
// When requests arrive densely (the next one came within linger of the
// writer starting to wait, and another is already queued behind it), a
// batch stays open for up to linger to gather more: at 10,000 fetched
// items a second this turns pipelines of one or two commands into bigger
// ones, saving a round trip's system calls per item on both sides. Sparse
// requests, and a lone one (a loader at concurrency 1 would otherwise wait
// the whole linger for every write), are written at once.
type writer struct {
	// ctx ends in-flight pipelines at once (Kill).
	ctx      context.Context
	rdb      *redis.Client
	reqs     chan *writeReq
	timeout  time.Duration
	maxBatch int
	maxBytes int
	linger   time.Duration
}

// writerLinger is how long a batch of densely arriving writes stays open.
const writerLinger = time.Millisecond

func newWriter(ctx context.Context, rdb *redis.Client, timeout time.Duration) *writer {
	return &writer{ctx: ctx, rdb: rdb, reqs: make(chan *writeReq, 4096), timeout: timeout,
		maxBatch: 1000, maxBytes: 1 << 20, linger: writerLinger}
}

// run serves batches until ctx ends. Several run at once.
func (w *writer) run(ctx context.Context) {
	batch := make([]*writeReq, 0, w.maxBatch)
	cmds := make([]*redis.StatusCmd, 0, w.maxBatch)
	var timer *time.Timer
	if w.linger > 0 {
		timer = time.NewTimer(time.Hour)
		timer.Stop()
	}
	for {
		var first *writeReq
		waitStart := time.Now()
		select {
		case first = <-w.reqs:
		case <-ctx.Done():
			return
		}
		batch = append(batch[:0], first)
		size := len(first.value)
		// Dense arrivals: wait up to linger for more; sparse: take only
		// what is already queued.
		var linger <-chan time.Time
		if timer != nil && time.Since(waitStart) < w.linger && len(w.reqs) > 0 {
			timer.Reset(w.linger)
			linger = timer.C
		}
		for len(batch) < w.maxBatch && size < w.maxBytes {
			var r *writeReq
			if linger == nil {
				select {
				case r = <-w.reqs:
				default:
				}
			} else {
				select {
				case r = <-w.reqs:
				case <-linger:
				case <-ctx.Done():
				}
			}
			if r == nil {
				break
			}
			batch = append(batch, r)
			size += len(r.value)
		}
		if linger != nil {
			timer.Stop()
		}
		cmds = w.flush(batch, cmds[:0])
		clear(batch)
	}
}

func (w *writer) flush(batch []*writeReq, cmds []*redis.StatusCmd) []*redis.StatusCmd {
	ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
	defer cancel()
	pipe := w.rdb.Pipeline()
	for _, r := range batch {
		cmds = append(cmds, pipe.Set(ctx, r.key, r.value, r.ttl))
	}
	_, _ = pipe.Exec(ctx) // each command's own error is read below
	for i, r := range batch {
		r.done <- cmds[i].Err()
		cmds[i] = nil
	}
	return cmds
}
