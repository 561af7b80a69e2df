package rediswrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A cause is the same for every connection that failed the same way and
// names the Redis that did not answer: one outage reads as one cause,
// not as one per local port.
func TestCause(t *testing.T) {
	const addr = "10.0.0.7:6379"
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 42364}
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 6379}
	op := func(op string, inner error) error {
		return &net.OpError{Op: op, Net: "tcp", Source: local, Addr: remote, Err: inner}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"refused", op("dial", os.NewSyscallError("connect", syscall.ECONNREFUSED)), "redis 10.0.0.7:6379: connection refused"},
		{"broken pipe", op("write", os.NewSyscallError("write", syscall.EPIPE)), "redis 10.0.0.7:6379: connection reset"},
		{"bare errno", op("write", syscall.EPIPE), "redis 10.0.0.7:6379: connection reset"},
		{"reset, wrapped", fmt.Errorf("pipeline: %w", op("read", os.NewSyscallError("read", syscall.ECONNRESET))), "redis 10.0.0.7:6379: connection reset"},
		{"unreachable", op("write", os.NewSyscallError("write", syscall.EHOSTUNREACH)), "redis 10.0.0.7:6379: no route to host"},
		{"network unreachable", op("dial", os.NewSyscallError("connect", syscall.ENETUNREACH)), "redis 10.0.0.7:6379: network is unreachable"},
		{"closed by us", op("read", net.ErrClosed), "redis 10.0.0.7:6379: connection closed"},
		{"other inner error", op("read", errors.New("something odd")), "redis 10.0.0.7:6379: something odd"},
		{"EOF", io.EOF, "redis 10.0.0.7:6379: connection closed"},
		{"unexpected EOF", io.ErrUnexpectedEOF, "redis 10.0.0.7:6379: connection closed"},
		{"i/o timeout", op("read", os.ErrDeadlineExceeded), "redis 10.0.0.7:6379: timeout after 10s"},
		{"deadline", context.DeadlineExceeded, "redis 10.0.0.7:6379: timeout after 10s"},
		{"dns", op("dial", &net.DNSError{Err: "no such host", Name: "redis.internal", IsNotFound: true}), "redis 10.0.0.7:6379: cannot resolve host redis.internal"},
		{"pool closed", redis.ErrClosed, "redis 10.0.0.7:6379: client is closed"},
		{"interrupted", fmt.Errorf("pipeline: %w", context.Canceled), "interrupted"},
		{"no reply", errNoReply, "no reply to the command"},
		{"OOM reply", proto("OOM command not allowed when used memory > 'maxmemory'."), "OOM command not allowed when used memory > 'maxmemory'."},
		{"slot without a master", withSlot(proto("CLUSTERDOWN Hash slot not served"), "{user:1}:profile"), "CLUSTERDOWN Hash slot not served (slot 10778)"},
		{"WRONGPASS reply", proto("WRONGPASS invalid username-password pair or user is disabled."), "WRONGPASS invalid username-password pair or user is disabled."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CauseAt(addr, tc.err, 10*time.Second); got != tc.want {
				t.Errorf("CauseAt = %q, want %q", got, tc.want)
			}
			// Without an address (Connect names the URL itself), the same
			// cause without it.
			if got := Cause(tc.err, 10*time.Second); got != strings.TrimPrefix(tc.want, "redis "+addr+": ") {
				t.Errorf("Cause = %q, want %q", got, strings.TrimPrefix(tc.want, "redis "+addr+": "))
			}
		})
	}
}

// Slot agrees with Redis (CLUSTER KEYSLOT), hash tags included.
func TestSlot(t *testing.T) {
	for key, want := range map[string]int{
		"foo": 12182, "user:1": 10778, "{user:1}:profile": 10778, "{user:1}:cart": 10778,
		"{}x": 10595, "a{}b{c}": 7353, "": 0, "123456789": 12739,
	} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
}
