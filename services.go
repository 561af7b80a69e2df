package main

import (
	"errors"

	"github.com/cachewarm/cachewarm/warmup"
)

// services are the in-process helpers a config may ask for: the embedded
// Redis and the simulated origin.
type services struct {
	closers []func()
	isDemo  bool
}

func (s *services) demo() bool { return s.isDemo }

// Close stops every service, last started first.
func (s *services) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

func startServices(cfg *warmup.Config) (*services, error) {
	s := &services{}
	if cfg.Redis.URL == "embedded" || cfg.Origin != nil {
		return nil, errors.New("embedded services are not built yet")
	}
	return s, nil
}
