package main

import (
	"fmt"

	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/config"
)

// checkRetryTarget refuses a --retry-from whose Redis is not the one the
// report's run wrote to, unless this run names its Redis itself (--redis
// or $CACHEWARM_REDIS_URL): a retry printed without the first run's
// --redis (its password stays out of output) would otherwise warm
// another server, the config's, and call it done.
func checkRetryTarget(cfg *config.Config, rep *warmup.Report, named bool) error {
	now := redact.URL(cfg.Redis.URL)
	// The demo's embedded Redis is a new server on a new port each run:
	// the restart check rewrites what it lacks.
	if named || rep.Redis == "" || rep.Redis == now || cfg.Redis.URL == "embedded" {
		return nil
	}
	return fmt.Errorf("the report's run wrote to %s, this run would write to %s: give --redis (or set %s) with the report's Redis", redact.URL(rep.Redis), now, redisURLEnv)
}
