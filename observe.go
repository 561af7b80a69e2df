package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/cachewarm/cachewarm/internal/metrics"
	"github.com/cachewarm/cachewarm/warmup"
)

// pushTimeout bounds the push at the end of a run: a Pushgateway that
// does not answer must not hold a finished job.
const pushTimeout = 10 * time.Second

// observer is the run's metrics: the /metrics server (--metrics-addr)
// and the push at the end (--pushgateway), either or both unset.
type observer struct {
	server   *metrics.Server
	gateway  string
	grouping metrics.Grouping
}

// startObserver binds --metrics-addr now, before any work, so that an
// address in use is a start-up error.
func startObserver(ctx context.Context, f *flags, configPath string) (*observer, error) {
	o := &observer{gateway: f.pushgateway, grouping: grouping(configPath, f.shard)}
	if o.gateway != "" {
		if err := metrics.CheckURL(o.gateway); err != nil {
			return nil, err
		}
	}
	if f.metricsAddr != "" {
		s, err := metrics.Listen(ctx, f.metricsAddr)
		if err != nil {
			return nil, err
		}
		o.server = s
	}
	return o, nil
}

// grouping labels a push by the config's name and the shard.
func grouping(configPath string, shard warmup.Shard) metrics.Grouping {
	name := filepath.Base(configPath)
	g := metrics.Grouping{Config: strings.TrimSuffix(name, filepath.Ext(name)), Shard: "all"}
	if shard.Set() {
		g.Shard = shard.String()
	}
	return g
}

// serve starts serving eng's metrics.
func (o *observer) serve(eng *warmup.Engine) {
	if o.server != nil {
		o.server.Serve(eng)
	}
}

// finish pushes the final figures, if asked to, and stops the server. A
// failed push is said on stderr; it does not change the exit code, which
// says what the run did.
func (o *observer) finish(eng *warmup.Engine, stderr io.Writer) {
	if o.gateway != "" {
		ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
		if err := metrics.Push(ctx, o.gateway, eng, o.grouping); err != nil {
			fmt.Fprintf(stderr, "cachewarm: metrics not pushed: %v\n", err)
		}
		cancel()
	}
	o.close()
}

// close stops the server, if any.
func (o *observer) close() {
	if o.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		o.server.Close(ctx)
		cancel()
		o.server = nil
	}
}
