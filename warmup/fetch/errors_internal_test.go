package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
)

// Causes are the same for every connection that fails the same way: no
// local port, stream id or other detail of one connection, so that a
// thousand items rejected for one reason read the same.
func TestDescribeGroups(t *testing.T) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 42364}
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 443}
	op := func(op string, inner error) error {
		return &url.Error{Op: "Get", URL: "https://shop.test/a", Err: &net.OpError{Op: op, Net: "tcp", Source: local, Addr: remote, Err: inner}}
	}
	tests := []struct {
		name      string
		err       error
		cause     string
		transient bool
	}{
		{"refused", op("dial", os.NewSyscallError("connect", syscall.ECONNREFUSED)), "connection refused", true},
		{"reset", op("read", os.NewSyscallError("read", syscall.ECONNRESET)), "connection reset", true},
		{"broken pipe", op("write", os.NewSyscallError("write", syscall.EPIPE)), "broken pipe", true},
		{"unreachable", op("dial", os.NewSyscallError("connect", syscall.EHOSTUNREACH)), "no route to host", true},
		{"closed", op("read", net.ErrClosed), "connection closed", true},
		{"EOF", &url.Error{Op: "Get", URL: "https://shop.test/a", Err: io.EOF}, "connection closed", true},
		{"other inner error", op("read", errors.New("something odd")), "something odd", true},
		{"dns", op("dial", &net.DNSError{Err: "no such host", Name: "shop.test", IsNotFound: true}), "cannot resolve host shop.test", false},
		{"goaway", fmt.Errorf("http2: server sent GOAWAY and closed the connection; LastStreamID=%d, ErrCode=NO_ERROR, debug=%q", 1977, ""), "connection closed by the origin (HTTP/2 GOAWAY)", true},
		{"stream error", errors.New("stream error: stream ID 3; INTERNAL_ERROR; received from peer"), "HTTP/2 stream error INTERNAL_ERROR", true},
		{"stream error, no cause", errors.New("stream error: stream ID 5; REFUSED_STREAM"), "HTTP/2 stream error REFUSED_STREAM", true},
		{"client connection lost", errors.New("http2: client connection lost"), "connection closed", true},
	}
	c := New(Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := c.describe(context.Background(), context.Background(), tc.err)
			if e.Cause != tc.cause || e.Transient != tc.transient {
				t.Errorf("cause %q transient %v, want %q transient %v", e.Cause, e.Transient, tc.cause, tc.transient)
			}
			for _, detail := range []string{"42364", "10.0.0.7", "1977", "stream ID"} {
				if strings.Contains(e.Cause, detail) {
					t.Errorf("cause %q holds %s", e.Cause, detail)
				}
			}
		})
	}
}
