package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server serves /metrics. It binds its address when it is made, before
// the run starts, so that an address in use is a start-up error.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen binds addr (":9464", "127.0.0.1:9464").
func Listen(ctx context.Context, addr string) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, unwrapOp(err))
	}
	return &Server{ln: ln}, nil
}

// ExposureWarning says, for an addr that listens on every interface
// (":9464", "0.0.0.0:9464", "[::]:9464"), that anyone who can reach the
// machine can read the metrics (loader names, hosts, error causes); it is
// empty for a loopback or otherwise named address.
func ExposureWarning(addr string) string {
	if addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return ""
	}
	return fmt.Sprintf("--metrics-addr %s serves /metrics on every interface of this machine; use 127.0.0.1:%s unless a scraper on another host reads it", addr, port)
}

// Addr is the address bound, with the port chosen for ":0".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve starts serving src's metrics, with the Go runtime's and the
// process's, on /metrics, in the background.
func (s *Server) Serve(src Source) {
	reg := Registry(src)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(s.ln)
}

// Close stops serving: a scrape in progress may finish within ctx.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return s.ln.Close()
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// unwrapOp drops the *net.OpError around err, whose message repeats the
// address the caller names.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

var _ prometheus.Collector = (*Collector)(nil)
