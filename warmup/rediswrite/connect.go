package rediswrite

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// Connect opens a go-redis client for rc and checks that the server
// answers. Errors name the address with its password redacted.
func Connect(ctx context.Context, rc config.RedisConfig, poolSize int, timeout time.Duration) (*redis.Client, error) {
	rawURL := rc.URL
	shown := config.RedactURL(rawURL)
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
	// RESP2: SET replies are the same, and go-redis then skips looking for
	// RESP3 push notifications before every reply of a pipeline.
	opts.Protocol = 2
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s: %s", shown, Cause(err, opts.DialTimeout))
	}
	return rdb, nil
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
