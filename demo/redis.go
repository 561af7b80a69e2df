// Package demo holds the in-process stand-ins cachewarm starts so that a
// newcomer can try it without installing anything: an embedded Redis
// ([redis] url = "embedded") and a simulated HTTP origin ([origin]
// simulate = true) whose failures are deterministic for a given seed.
//
// The engine knows nothing of the demo: the [origin] table and the
// {{origin}} template function reach the config through Extension, which
// plugs into config.Options.
package demo

import (
	"fmt"
	"net"
	"strconv"

	"github.com/alicebob/miniredis/v2"
)

// EmbeddedRedis is an in-process Redis server (miniredis) listening on a
// loopback port. It is what [redis] url = "embedded" starts. While it
// runs, `redis-cli -p PORT` can look inside it.
//
// It speaks enough of the Redis protocol for cachewarm (SET with EX/PX,
// GET, TTL, pipelines, ...), but its clock does not tick by itself: keys
// are stored with their TTL, yet never expire during the run. That is
// fine for a demo, which ends long before any TTL would.
type EmbeddedRedis struct {
	srv  *miniredis.Miniredis
	addr string
	port int
}

// StartRedis starts an embedded Redis on 127.0.0.1 at a free port. Call
// Close to stop it.
func StartRedis() (*EmbeddedRedis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("starting embedded redis: %w", err)
	}
	addr := m.Addr()
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("starting embedded redis: unexpected address %q", addr)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("starting embedded redis: unexpected address %q", addr)
	}
	return &EmbeddedRedis{srv: m, addr: addr, port: port}, nil
}

// URL returns the address clients connect to, as a Redis URL selecting
// database 0: "redis://127.0.0.1:PORT/0".
func (r *EmbeddedRedis) URL() string { return "redis://" + r.addr + "/0" }

// Port returns the loopback TCP port the server listens on.
func (r *EmbeddedRedis) Port() int { return r.port }

// Server returns the underlying miniredis, for tests that want to inspect
// keys directly or move its clock with FastForward.
func (r *EmbeddedRedis) Server() *miniredis.Miniredis { return r.srv }

// Close stops the server and drops its data. Calling it again does
// nothing.
func (r *EmbeddedRedis) Close() { r.srv.Close() }
