package fetch

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

type Options struct {
	Concurrency int
	Timeout     time.Duration
	UserAgent   string
	MaxBody     int64
}
type Request struct {
	URL     string
	Headers map[string]string
	Private map[string]bool
}
type Error struct {
	Cause     string
	Transient bool
	BadURL    bool
}

func (e *Error) Error() string { return e.Cause }

type Client struct{ c *http.Client }

func New(o Options) *Client { return &Client{c: &http.Client{}} }
func (c *Client) Get(ctx context.Context, r Request) ([]byte, *Error) {
	req, err := http.NewRequestWithContext(ctx, "GET", r.URL, nil)
	if err != nil {
		return nil, &Error{Cause: err.Error(), BadURL: true}
	}
	resp, err := c.c.Do(req)
	if err != nil {
		if ctx.Err() == context.Canceled {
			return nil, &Error{Cause: "interrupted"}
		}
		return nil, &Error{Cause: err.Error(), Transient: true}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return nil, &Error{Cause: strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode), Transient: resp.StatusCode >= 500}
	}
	return b, nil
}
func (c *Client) CloseIdle() {}
