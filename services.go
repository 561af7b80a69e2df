package main

import (
	"context"
	"fmt"

	"github.com/cachewarm/cachewarm/warmup/config"

	"github.com/cachewarm/cachewarm/demo"
)

// services are the in-process helpers a config may ask for: the embedded
// Redis (url = "embedded") and the simulated origin ([origin]).
type services struct {
	closers []func()
	isDemo  bool
}

// demo is true when a demo stand-in was started: the monitor shows a
// DEMO badge.
func (s *services) demo() bool { return s.isDemo }

// Close stops every service, last started first.
func (s *services) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// startServices starts the stand-ins cfg asks for; ext is the demo
// extension cfg was loaded with, and points {{origin}} at the origin.
func startServices(cfg *config.Config, ext *demo.Extension) (*services, error) {
	s := &services{}
	if cfg.Redis.URL == "embedded" {
		r, err := demo.StartRedis()
		if err != nil {
			return nil, fmt.Errorf("embedded Redis: %w", err)
		}
		s.closers = append(s.closers, r.Close)
		cfg.Redis.URL = r.URL()
		s.isDemo = true
	}
	o, err := ext.StartOrigin()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("simulated origin: %w", err)
	}
	if o != nil {
		s.closers = append(s.closers, o.Close)
		s.isDemo = true
	}
	return s, nil
}

// quietLogger drops go-redis's own log lines: every failure already
// reaches the user as an item's reason, and stray lines would tear the
// monitor's screen.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
