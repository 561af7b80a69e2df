package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Error is why a fetch failed.
type Error struct {
	// Cause is short and stable, e.g. "404 Not Found", "timeout after
	// 10s", "connection refused", "body larger than 64 MiB", "more than
	// 10 redirects", "302 Found without a Location", "tls: certificate
	// signed by unknown authority", "cannot resolve host x",
	// "interrupted". It never quotes response bytes or request headers.
	Cause string
	// err is what the Error is, for errors.Is: context.Canceled for a
	// fetch the caller interrupted, the sentinel rediswrite's classifier
	// reads as Interrupted too, so a stop is one outcome whichever stage
	// it cut short.
	err error
	// Transient says a retry may succeed (timeouts, connection errors,
	// 5xx, 408, 425, 429). An interrupted fetch is not transient: the
	// caller cancelled it and is not going to retry.
	Transient bool
	// RetryAfter is how long the origin asked to wait before the next
	// request (a transient status's Retry-After, in seconds or as a
	// date); 0 when it did not say. Capping it is the caller's call.
	RetryAfter time.Duration
	// BadURL says the URL itself is unusable (not http(s), no host, does
	// not parse): nothing was sent.
	BadURL bool
	// Overload says the origin is past what it can take: a 429, 503 or
	// 504, a timeout, or a connection refused, reset or closed. An
	// adaptive Limiter backs off on it (SignalOf).
	Overload bool
}

// Error returns Cause; the caller adds "fetch GET <url>: ".
func (e *Error) Error() string { return e.Cause }

// Unwrap is context.Canceled for an interrupted fetch (errors.Is(err,
// context.Canceled) tells one), else nil.
func (e *Error) Unwrap() error { return e.err }

// interruptedError is the fetch the caller's context cancelled.
func interruptedError() *Error { return &Error{Cause: "interrupted", err: context.Canceled} }

// describe turns an error from net/http into an *Error. ctx is the
// caller's context and reqCtx the request's, bounded by the timeout:
// which of them ended tells an interrupt from a timeout, whatever error
// the transport happened to return on the way.
func (c *Client) describe(ctx, reqCtx context.Context, err error) *Error {
	e := c.describeErr(ctx, reqCtx, err)
	// Every transient failure of the request itself is the origin (or the
	// way to it) not keeping up, except a name that did not resolve.
	var dnsErr *net.DNSError
	e.Overload = e.Transient && !errors.As(err, &dnsErr)
	return e
}

// describeErr is describe without the Overload flag.
func (c *Client) describeErr(ctx, reqCtx context.Context, err error) *Error {
	if errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled) && reqCtx.Err() == nil {
		return interruptedError()
	}
	if reqCtx.Err() != nil || isTimeout(err) {
		return &Error{Cause: c.timeoutText(), Transient: true}
	}
	var re *redirectError
	if errors.As(err, &re) {
		return &Error{Cause: re.cause}
	}
	if errors.Is(err, errLinkLocal) {
		// Asking again would be refused again.
		return &Error{Cause: errLinkLocal.Error()}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// Its message repeats the method and URL the caller names.
		err = ue.Err
	}
	if e := describeNetwork(err); e != nil {
		return e
	}
	if e := describeTLS(err); e != nil {
		return e
	}
	return describeOther(err)
}

// isTimeout recognises net/http's and the dialer's timeouts
// (ResponseHeaderTimeout, TLS handshake, dial).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// timeoutText is "timeout after 10s".
func (c *Client) timeoutText() string {
	if c.timeout <= 0 {
		return "timeout"
	}
	return "timeout after " + c.timeout.String()
}

// describeNetwork names connection failures, all transient, and DNS
// failures, transient unless the name does not exist.
func describeNetwork(err error) *Error {
	var dnsErr *net.DNSError
	var errno syscall.Errno
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Cause: "connection refused", Transient: true}
	case errors.Is(err, syscall.ECONNRESET):
		return &Error{Cause: "connection reset", Transient: true}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Cause: "connection closed", Transient: true}
	case errors.As(err, &dnsErr):
		return &Error{Cause: "cannot resolve host " + dnsErr.Name, Transient: !dnsErr.IsNotFound}
	case errors.As(err, &errno):
		// "no route to host", "network is unreachable", ...
		return &Error{Cause: errno.Error(), Transient: true}
	}
	return nil
}

// describeTLS names TLS failures. None is transient: an origin whose
// certificate does not verify, or that does not speak TLS, stays so.
func describeTLS(err error) *Error {
	var (
		unknown   x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		remoteErr *net.OpError
	)
	switch {
	case errors.As(err, &unknown):
		return &Error{Cause: "tls: certificate signed by unknown authority"}
	case errors.As(err, &hostname):
		return &Error{Cause: "tls: certificate is not valid for " + hostname.Host}
	case errors.As(err, &invalid):
		return &Error{Cause: "tls: " + firstClause(strings.TrimPrefix(invalid.Error(), "x509: "))}
	case errors.As(err, &verify):
		return &Error{Cause: "tls: certificate verification failed"}
	case errors.As(err, &record):
		return &Error{Cause: "tls: " + record.Msg}
	case errors.As(err, &alert):
		return &Error{Cause: alert.Error()}
	case errors.As(err, &remoteErr) && remoteErr.Op == "remote error":
		// A TLS alert from the origin: "remote error: tls: ...".
		return &Error{Cause: remoteErr.Error()}
	}
	return nil
}

// describeOther names what is left: malformed responses and anything
// unforeseen. Messages are cut where they would start quoting what the
// origin sent.
func describeOther(err error) *Error {
	var proto textproto.ProtocolError
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to parse Location header"):
		// net/http quotes the Location; its status is gone by now.
		return &Error{Cause: "redirect to a Location that does not parse"}
	case strings.Contains(msg, "server response headers exceeded"):
		return &Error{Cause: "response header larger than " + sizeText(maxHeaderBytes)}
	case errors.As(err, &proto):
		// "malformed MIME header line: <the line>".
		return &Error{Cause: "malformed response header"}
	case strings.Contains(msg, "malformed HTTP"):
		// `malformed HTTP status code "2OO"`
		return &Error{Cause: "malformed response: " + unquoted(msg[strings.Index(msg, "malformed HTTP"):])}
	}
	var ne net.Error
	transient := errors.As(err, &ne)
	if e := describeConnection(err); e != nil {
		return e
	}
	return &Error{Cause: unquoted(strings.TrimPrefix(opCause(err).Error(), "net/http: ")), Transient: transient}
}

// describeConnection names a connection lost in ways describeNetwork
// does not see, in words that are the same for every connection:
// net/http's and HTTP/2's own messages carry stream ids and debug data.
func describeConnection(err error) *Error {
	msg := err.Error()
	switch {
	case errors.Is(err, net.ErrClosed), strings.Contains(msg, "http2: client connection lost"):
		return &Error{Cause: "connection closed", Transient: true}
	case strings.Contains(msg, "server sent GOAWAY"):
		return &Error{Cause: "connection closed by the origin (HTTP/2 GOAWAY)", Transient: true}
	case strings.Contains(msg, "stream error: stream ID "):
		// "stream error: stream ID 3; INTERNAL_ERROR; received from peer"
		_, rest, _ := strings.Cut(msg, "stream error: stream ID ")
		if _, code, ok := strings.Cut(rest, "; "); ok {
			code, _, _ = strings.Cut(code, ";")
			return &Error{Cause: "HTTP/2 stream error " + code, Transient: true}
		}
	}
	return nil
}

// opCause is err without the *net.OpError around it, whose message
// names the local address (an ephemeral port, different on every
// connection) as well as the remote one the caller already names.
func opCause(err error) error {
	var op *net.OpError
	for errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	return err
}

// firstClause is msg up to its first ": ", where details follow.
func firstClause(msg string) string {
	if i := strings.Index(msg, ": "); i >= 0 {
		return msg[:i]
	}
	return msg
}

// unquoted is msg up to its first quote, where net/http starts quoting
// bytes it received.
func unquoted(msg string) string {
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimRight(msg, ": ")
}
