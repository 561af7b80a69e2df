package rediswrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Class is what a failed write calls for.
type Class int

// The classes of write outcomes.
const (
	// OK: the reply to the Op's own command was OK.
	OK Class = iota
	// Retry: the same write may succeed soon (TRYAGAIN, BUSY, a MOVED or
	// ASK left after go-redis ran out of redirects, a cluster slot that
	// no master serves).
	Retry
	// Reject: the write fails the same way until something changes
	// (OOM, NOPERM, WRONGTYPE, a value Redis refuses).
	Reject
	// Unavailable: Redis as a whole is not taking writes (connection
	// refused or reset, timeouts, LOADING, MASTERDOWN, CLUSTERDOWN the
	// cluster is down,
	// READONLY after a failover, a rotated password). Waiting is the
	// answer, not spending the item's attempts.
	Unavailable
	// Interrupted: the run cancelled the write.
	Interrupted
)

// String names the class: "ok", "retry", "reject", "unavailable",
// "interrupted".
func (c Class) String() string {
	return [...]string{"ok", "retry", "reject", "unavailable", "interrupted"}[c]
}

// errNoReply is what an Op gets when its pipeline ended without an error
// and without a reply to its command.
var errNoReply = errors.New("no reply to the command")

// notReplicatedError is what an Op gets when its SET was OK but fewer
// replicas than asked for confirmed it: the master may be on its way out
// (a failover), and the write may not survive it.
type notReplicatedError struct {
	want   int
	got    int64
	within time.Duration
}

func (e *notReplicatedError) Error() string {
	return fmt.Sprintf("written but confirmed by %d of %d replicas within %s", e.got, e.want, e.within)
}

// Classify sorts a write's error. It is the one place that decides.
func Classify(err error) Class {
	if err == nil {
		return OK
	}
	var rerr redis.Error
	switch {
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.As(err, new(*notReplicatedError)):
		// Most likely a failover under way: the gate waits for the
		// master the sentinels name now.
		return Unavailable
	case errors.Is(err, errNoReply):
		// Not a reply Redis gives to SET: worth another attempt, not a
		// reason to wait for Redis.
		return Retry
	case errors.As(err, &rerr):
		return classifyReply(err)
	default:
		// Network trouble, timeouts, a closed pool, no reply at all.
		return Unavailable
	}
}

// classifyReply sorts an error reply from the server.
func classifyReply(err error) Class {
	msg := err.Error()
	switch {
	case isUnservedSlot(err):
		// One slot without a master: the other keys go on; this one
		// spends its attempts and is rejected naming the slot.
		return Retry
	case strings.HasPrefix(msg, "MOVED "), strings.HasPrefix(msg, "ASK "):
		// go-redis follows redirects itself; one that surfaces means the
		// slot moved more often than it follows: the next attempt
		// starts from a fresher slot map.
		return Retry
	case redis.IsLoadingError(err), redis.IsMasterDownError(err), redis.IsClusterDownError(err),
		redis.IsReadOnlyError(err), redis.IsAuthError(err), redis.IsMaxClientsError(err):
		return Unavailable
	case redis.IsTryAgainError(err), strings.HasPrefix(msg, "BUSY "):
		return Retry
	default:
		return Reject
	}
}

// IsTimeout says whether err is a timeout and nothing more specific: an
// Unavailable that may be one slow pipeline rather than an outage.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Cause shortens an error to what a user reads in a reason:
// "connection refused", "timeout after 10s", or the server's reply
// ("WRONGPASS invalid username-password pair…"). It never holds what
// differs from one connection to the next (a local port), so that one
// failure read by a thousand items is one cause; CauseAt adds which
// Redis it was.
func Cause(err error, timeout time.Duration) string {
	var rerr redis.Error
	var ne net.Error
	var dnsErr *net.DNSError
	var errno syscall.Errno
	var se *slotError
	var nr *notReplicatedError
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.As(err, &nr):
		return nr.Error()
	case errors.As(err, &rerr):
		return rerr.Error()
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("timeout after %s", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "connection closed"
	case errors.As(err, &dnsErr):
		return "cannot resolve host " + dnsErr.Name
	case errors.As(err, &errno):
		// "no route to host", "network is unreachable", ...
		return errno.Error()
	}
	// A *net.OpError's message names both ends, the local one an
	// ephemeral port: what it wraps is the cause.
	var op *net.OpError
	for errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	return strings.TrimPrefix(err.Error(), "redis: ")
}

// CauseAt is Cause naming the Redis at addr (or, when addr is "", the
// node the error names) when it did not answer
// ("redis 127.0.0.1:6379: connection refused"): a reply is the server's
// own word and an interrupt the run's, so they are left as they are.
func CauseAt(addr string, err error, timeout time.Duration) string {
	var rerr redis.Error
	cause := Cause(err, timeout)
	var op *net.OpError
	if addr == "" && errors.As(err, &op) && op.Addr != nil {
		// A cluster's errors come from one of its nodes: the error knows
		// which.
		addr = op.Addr.String()
	}
	if addr == "" || errors.As(err, &rerr) || errors.Is(err, context.Canceled) || errors.Is(err, errNoReply) {
		return cause
	}
	return "redis " + addr + ": " + cause
}
