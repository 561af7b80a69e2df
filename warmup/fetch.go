package warmup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Stage names the step an item failed in; it starts every reason.
type Stage string

// The stages of an item's pipeline.
const (
	StageSource      Stage = "source"
	StageKey         Stage = "key"
	StageURL         Stage = "url"
	StageFetch       Stage = "fetch"
	StageRedis       Stage = "redis"
	StageInterrupted Stage = "interrupted"
	StageInternal    Stage = "internal"
)

// itemError is why one attempt of one item failed.
type itemError struct {
	stage     Stage
	msg       string
	transient bool
}

func (e *itemError) Error() string { return e.msg }

// maxBody bounds a fetched value: Redis strings hold at most 512 MiB.
const maxBody = 512 << 20

// fetcher performs the optional HTTP GET of an item.
type fetcher struct {
	client  *http.Client
	timeout time.Duration
}

func newFetcher(concurrency int, timeout time.Duration) *fetcher {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = concurrency * 2
	tr.MaxIdleConnsPerHost = concurrency * 2
	tr.MaxConnsPerHost = 0
	return &fetcher{client: &http.Client{Transport: tr}, timeout: timeout}
}

// get fetches rawURL and returns the body on a 2xx answer.
func (f *fetcher) get(ctx context.Context, rawURL string, headers map[string]string) ([]byte, *itemError) {
	fail := func(transient bool, format string, args ...any) *itemError {
		return &itemError{stage: StageFetch, transient: transient,
			msg: fmt.Sprintf("fetch GET %s: %s", rawURL, fmt.Sprintf(format, args...))}
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &itemError{stage: StageURL, msg: fmt.Sprintf("url template: %q is not an http(s) URL", rawURL)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fail(false, "%v", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fail(true, "%s", describeNetErr(ctx, err, f.timeout))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		transient := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
		return nil, fail(transient, "%s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fail(true, "reading body: %s", describeNetErr(ctx, err, f.timeout))
	}
	if len(body) > maxBody {
		return nil, fail(false, "body larger than 512 MiB")
	}
	return body, nil
}

// describeNetErr turns a network error into a short cause:
// "timeout after 10s", "connection refused".
func describeNetErr(ctx context.Context, err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Sprintf("timeout after %s", timeout)
	case errors.Is(err, context.Canceled) || (ctx != nil && ctx.Err() != nil):
		return "interrupted"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "cannot resolve host " + dnsErr.Name
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "dial ") {
		msg = msg[i+2:]
	}
	return msg
}
