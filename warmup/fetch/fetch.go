package fetch

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cachewarm/cachewarm/internal/weburl"
)

// Options configure a Client.
type Options struct {
	// Concurrency is how many requests are in flight at most; it sizes
	// the idle connections kept per host. Values below 1 count as 1.
	Concurrency int
	// Timeout bounds one request, redirects and body included, and the
	// wait for response headers. Callers also pass a ctx with this
	// deadline; 0 leaves the ctx as the only bound.
	Timeout time.Duration
	// UserAgent is sent unless the request's headers set User-Agent.
	UserAgent string
	// MaxBody is the largest body accepted, in bytes, checked while
	// streaming (chunked or not); 0 means DefaultMaxBody.
	MaxBody int64
	// Proxy picks the proxy for a request; nil means
	// http.ProxyFromEnvironment. It exists for tests, since
	// ProxyFromEnvironment reads the environment once per process.
	Proxy func(*http.Request) (*url.URL, error)
}

// Request is one GET.
type Request struct {
	// URL is the absolute http:// or https:// URL to fetch.
	URL string
	// Headers are sent with the request (and, subject to Private, with
	// its redirects). A Host header sets the request's Host.
	Headers map[string]string
	// Private names headers that must not follow a redirect that leaves
	// the first URL's host (credential-like names and values expanded
	// from ${VAR}); Authorization and Cookie never follow either. Names
	// match case-insensitively.
	Private map[string]bool
	// Hosts, when set, are where the loader's config lets its requests
	// go: a redirect to a place Hosts refuse is not followed, and one to
	// a place they do not allow carries no Private header, as if it left
	// the first host.
	Hosts *Hosts
	// AllowEmpty accepts an empty body (a 204, or a 2xx with nothing in
	// it) as the value; otherwise it is an error, since writing "" over
	// a cached value is rarely what an empty answer means.
	AllowEmpty bool
}

// DefaultMaxBody is the body limit when Options.MaxBody is 0.
const DefaultMaxBody = 64 << 20

// maxRedirects is how many redirects one Get follows.
const maxRedirects = 10

// maxHeaderBytes bounds a response's header block: an origin that sends
// more is broken, and the bytes would be held per request in flight.
const maxHeaderBytes = 64 << 10

// maxDrain is how much of a non-2xx body is read so that the connection
// can be kept alive; past it, closing the connection is cheaper.
const maxDrain = 64 << 10

// minRead is the first buffer for a body of unknown length.
const minRead = 32 << 10

// idleMargin is how many idle connections are kept beyond Concurrency:
// a few spare ones cover connections the origin is closing.
const idleMargin = 8

// Client fetches item values. It is safe for concurrent use; make one
// per run and call CloseIdle at its end.
type Client struct {
	hc        *http.Client
	transport *http.Transport
	timeout   time.Duration
	userAgent string
	maxBody   int64
}

// New returns a Client configured by o.
func New(o Options) *Client {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	t := newTransport(o)
	return &Client{
		hc:        &http.Client{Transport: t, CheckRedirect: checkRedirect},
		transport: t,
		timeout:   o.Timeout,
		userAgent: o.UserAgent,
		maxBody:   o.MaxBody,
	}
}

// newTransport tunes a clone of http.DefaultTransport (which keeps its
// dial and TLS handshake timeouts) for many concurrent GETs.
//
// It never connects to a link-local address (169.254.0.0/16, fe80::/10),
// however the address was reached (a URL, a redirect, a DNS answer):
// cloud metadata services live there, and an origin that redirects to one
// would have the run copy the machine's credentials into Redis.
func newTransport(o Options) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// DefaultTransport's dialer, refusing link-local addresses.
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: refuseLinkLocal}
	t.DialContext = d.DialContext
	t.Proxy = o.Proxy
	if t.Proxy == nil {
		t.Proxy = http.ProxyFromEnvironment
	}
	idle := max(o.Concurrency, 1) + idleMargin
	t.MaxIdleConns = idle
	t.MaxIdleConnsPerHost = idle
	// net/http replays a GET once on a fresh connection when a reused
	// one turns out closed by the server, so a generous idle time costs
	// no failed requests.
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = o.Timeout
	t.MaxResponseHeaderBytes = maxHeaderBytes
	t.ForceAttemptHTTP2 = true
	return t
}

// errLinkLocal is why a connection to a link-local address is refused.
var errLinkLocal = errors.New("link-local address refused (cloud metadata services live there)")

// refuseLinkLocal is the dialer's Control: it runs once the address is
// resolved, so a name that resolves to a link-local address is refused
// too.
func refuseLinkLocal(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLinkLocalUnicast() {
		return errLinkLocal
	}
	return nil
}

// CloseIdle closes idle connections; call it at the end of a run.
func (c *Client) CloseIdle() { c.transport.CloseIdleConnections() }

// Get fetches r and returns the body of a 2xx answer. ctx cancels the
// request at once (the connection is closed) and its deadline bounds it,
// as does Options.Timeout.
func (c *Client) Get(ctx context.Context, r Request) ([]byte, *Error) {
	var body []byte
	status := 0
	ferr := c.do(ctx, r, func(resp *http.Response, decode bool) error {
		var err error
		body, err = c.readBody(resp, decode)
		status = resp.StatusCode
		return err
	})
	if ferr != nil {
		return nil, ferr
	}
	if len(body) == 0 && !r.AllowEmpty {
		return nil, &Error{Cause: "empty body (" + statusText(status) + ")"}
	}
	return body, nil
}

// Copy fetches r as Get does and streams the decoded body of a 2xx answer
// into w instead of holding it: for documents (sitemaps) that may be as
// large as MaxBody. It returns how many bytes it wrote; an empty body is
// not an error. A failure to write is an *Error whose Cause starts with
// "write: ".
func (c *Client) Copy(ctx context.Context, r Request, w io.Writer) (int64, *Error) {
	var n int64
	ferr := c.do(ctx, r, func(resp *http.Response, decode bool) error {
		var err error
		n, err = c.copyBody(resp, decode, w)
		return err
	})
	return n, ferr
}

// do sends r and hands a 2xx response to read, turning every failure
// (the request's, a status, read's) into an *Error.
func (c *Client) do(ctx context.Context, r Request, read func(resp *http.Response, decode bool) error) *Error {
	u, ferr := parseURL(r.URL)
	if ferr != nil {
		return ferr
	}
	reqCtx, cancel := c.withTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(withHosts(withPrivate(reqCtx, r.Private), r.Hosts), http.MethodGet, u.String(), nil)
	if err != nil {
		return &Error{Cause: "URL does not parse", BadURL: true}
	}
	// A caller that sets Accept-Encoding itself gets the bytes as sent.
	decode := !c.setHeaders(req, r.Headers)
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.describe(ctx, reqCtx, err)
	}
	defer resp.Body.Close()
	if ferr := checkStatus(resp); ferr != nil {
		drain(resp.Body)
		return ferr
	}
	if err := read(resp, decode); err != nil {
		if ferr, ok := err.(*Error); ok {
			return ferr
		}
		return c.describe(ctx, reqCtx, err)
	}
	return nil
}

// parseURL accepts absolute http(s) URLs with a host. A path with raw
// characters (a space) parses and is escaped when the request is written.
func parseURL(raw string) (*url.URL, *Error) {
	// weburl's errors never quote the URL, which the caller names.
	u, err := weburl.Parse(raw)
	if err != nil {
		return nil, &Error{Cause: err.Error(), BadURL: true}
	}
	return u, nil
}

// withTimeout bounds ctx by the client's timeout, so that reading the
// body is bounded as well as the wait for headers.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// setHeaders sets the caller's headers over the default User-Agent; a
// Host header is the request's Host, which net/http takes from req.Host.
// It reports whether the caller set Accept-Encoding.
func (c *Client) setHeaders(req *http.Request, headers map[string]string) (acceptEncoding bool) {
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	_, acceptEncoding = req.Header["Accept-Encoding"]
	return acceptEncoding
}

// checkStatus rejects anything but a 2xx answer, saying which statuses a
// retry may cure: 408, 425, 429 and 5xx, with the origin's Retry-After.
// A redirect status is only returned by net/http when it had no Location
// to follow.
func checkStatus(resp *http.Response) *Error {
	code := resp.StatusCode
	switch {
	case code >= 200 && code <= 299:
		return nil
	case isFollowedRedirect(code) && resp.Header.Get("Location") == "":
		return &Error{Cause: statusText(code) + " without a Location"}
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooEarly || code == http.StatusTooManyRequests:
		overload := code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
		return &Error{Cause: statusText(code), Transient: true, Overload: overload, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return &Error{Cause: statusText(code)}
}

// maxRetryAfter bounds what retryAfter returns, so that an absurd
// number of seconds cannot overflow a Duration.
const maxRetryAfter = 1 << 32 * time.Second

// retryAfter reads a Retry-After value, delay-seconds or an HTTP-date
// (relative to now); 0 when there is none or it does not parse.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	secs, err := strconv.ParseUint(v, 10, 64)
	if err == nil || errors.Is(err, strconv.ErrRange) {
		return time.Duration(min(secs, uint64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// isFollowedRedirect says whether net/http follows code when it comes
// with a Location.
func isFollowedRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// statusText reads "404 Not Found", as Response.Status does, but from
// the code: the origin's reason phrase is not quoted.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

// drain reads a little of a body that is not kept, so that a short one
// leaves its connection reusable; a long one is cut off by Close.
func drain(body io.Reader) {
	io.CopyN(io.Discard, body, maxDrain)
}

// readBody reads at most maxBody bytes of resp's body, decoded when
// decode says so (net/http has already decoded the gzip it asked for).
// The limit is on the decoded bytes, which are what is held. One byte
// more than the limit is enough to know it is passed; the caller's
// Close then drops the connection without reading the rest.
func (c *Client) readBody(resp *http.Response, decode bool) ([]byte, error) {
	r, announced, undo, err := c.bodyReader(resp, decode)
	if err != nil {
		return nil, err
	}
	body, over, err := readAtMost(r, c.maxBody, announced)
	if err != nil {
		return nil, decodeFailure(err, undo)
	}
	if over {
		return nil, c.tooLarge()
	}
	return body, nil
}

// copyBody is readBody writing to w as it reads, under the same limit.
func (c *Client) copyBody(resp *http.Response, decode bool, w io.Writer) (int64, error) {
	r, _, undo, err := c.bodyReader(resp, decode)
	if err != nil {
		return 0, err
	}
	dst := &trackedWriter{w: w}
	n, err := io.Copy(dst, io.LimitReader(r, c.maxBody+1))
	switch {
	case dst.err != nil:
		return n, &Error{Cause: "write: " + dst.err.Error()}
	case err != nil:
		return n, decodeFailure(err, undo)
	case n > c.maxBody:
		return n, c.tooLarge()
	}
	return n, nil
}

// trackedWriter remembers a write error, which io.Copy returns the same
// way as a read error: the response is not to blame for it.
type trackedWriter struct {
	w   io.Writer
	err error
}

func (t *trackedWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		t.err = err
	}
	return n, err
}

// bodyReader is resp's body, decoded when decode says so, with the length
// the origin announced (-1 when unknown or decoded) and the codings
// undone. A body announced larger than maxBody is refused unread.
func (c *Client) bodyReader(resp *http.Response, decode bool) (io.Reader, int64, []string, error) {
	r, announced := io.Reader(resp.Body), resp.ContentLength
	var undo []string
	if resp.Uncompressed {
		undo = []string{"gzip"}
	} else if values := resp.Header.Values("Content-Encoding"); decode && len(values) > 0 {
		var ferr *Error
		if undo, ferr = codings(values); ferr != nil {
			return nil, 0, nil, ferr
		}
		if len(undo) > 0 {
			var err error
			if r, err = decoder(r, undo); err != nil {
				return nil, 0, nil, decodeFailure(err, undo)
			}
			announced = -1
		}
	}
	if announced > c.maxBody {
		return nil, 0, nil, c.tooLarge()
	}
	return r, announced, undo, nil
}

// maxChunk is the largest piece a body of unknown length is read in.
const maxChunk = 1 << 20

// spoolAfter is how much of a body of unknown length is held in pieces;
// the rest goes to a temporary file, read back into one buffer of the
// body's size. Joining pieces would hold the body twice: run.max_body
// bounds what is held, not only what is accepted.
const spoolAfter = 8 << 20

// readAtMost reads r to EOF, or until it has seen more than limit bytes
// (over). A body of announced length is read into one buffer of that
// size; one of unknown length (chunked, or decoded) into pieces that grow
// to maxChunk, never copied until the end, and past spoolAfter into a
// temporary file, so a body cut off at the limit has cost about
// spoolAfter, and one read whole about its size.
func readAtMost(r io.Reader, limit, announced int64) (body []byte, over bool, err error) {
	if announced >= 0 && announced <= limit {
		// Room for one byte more, to see EOF (or a lying length).
		pieces, total, err := fill(r, limit, [][]byte{make([]byte, 0, announced+1)})
		if err != nil || total > limit {
			return nil, total > limit, err
		}
		return join(pieces, total), false, nil
	}
	pieces, total, err := fill(r, min(limit, spoolAfter), nil)
	switch {
	case err != nil:
		return nil, false, err
	case total > limit:
		return nil, true, nil
	case total <= spoolAfter:
		return join(pieces, total), false, nil
	}
	return spool(r, limit, pieces, total)
}

// fill reads r into pieces (the first one may be given) until EOF or
// more than limit bytes, and says how many it read.
func fill(r io.Reader, limit int64, pieces [][]byte) ([][]byte, int64, error) {
	var total int64
	size := minRead
	for total <= limit {
		if len(pieces) == 0 || len(pieces[len(pieces)-1]) == cap(pieces[len(pieces)-1]) {
			pieces = append(pieces, make([]byte, 0, min(int64(size), limit+1-total)))
			size = min(2*size, maxChunk)
		}
		p := pieces[len(pieces)-1]
		n, err := r.Read(p[len(p):cap(p)])
		pieces[len(pieces)-1] = p[:len(p)+n]
		total += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, total, err
		}
	}
	return pieces, total, nil
}

// join is pieces as one slice of total bytes.
func join(pieces [][]byte, total int64) []byte {
	if len(pieces) == 1 {
		return pieces[0]
	}
	body := make([]byte, 0, total)
	for _, p := range pieces {
		body = append(body, p...)
	}
	return body
}

// spool reads the rest of r after the pieces read so far (total bytes)
// through a temporary file, unlinked at once where the system allows it,
// and returns the body in one buffer of its size.
func spool(r io.Reader, limit int64, pieces [][]byte, total int64) ([]byte, bool, error) {
	f, err := os.CreateTemp("", "cachewarm-body-*")
	if err != nil {
		return nil, false, &Error{Cause: "temporary file: " + pathErr(err)}
	}
	if os.Remove(f.Name()) != nil {
		defer os.Remove(f.Name())
	}
	defer f.Close()
	for _, p := range pieces {
		if _, err := f.Write(p); err != nil {
			return nil, false, &Error{Cause: "temporary file: " + pathErr(err)}
		}
	}
	pieces = nil
	dst := &trackedWriter{w: f}
	n, err := io.Copy(dst, io.LimitReader(r, limit+1-total))
	total += n
	switch {
	case dst.err != nil:
		return nil, false, &Error{Cause: "temporary file: " + pathErr(dst.err)}
	case err != nil:
		return nil, false, err
	case total > limit:
		return nil, true, nil
	}
	body := make([]byte, total)
	if _, err := f.ReadAt(body, 0); err != nil {
		return nil, false, &Error{Cause: "temporary file: " + pathErr(err)}
	}
	return body, false, nil
}

// pathErr is err without the temporary file's name, which differs on
// every run: "no space left on device".
func pathErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// tooLarge is the cause for a body over the limit: retrying fetches the
// same body.
func (c *Client) tooLarge() *Error {
	return &Error{Cause: "body larger than " + sizeText(c.maxBody)}
}

// sizeText reads n bytes as "64 MiB" when it is a whole number of MiB
// or KiB, else "n bytes".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
