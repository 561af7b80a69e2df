package fetch_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/fetch"
)

// Copy streams what Get would return, under the same limit and decoding;
// a writer's failure is not blamed on the origin.
func TestCopy(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat("z", 2000)))
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.Write([]byte("hello"))
		case "/empty":
		case "/big":
			w.Write(bytes.Repeat([]byte("b"), 1025))
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := fetch.New(fetch.Options{Timeout: 5 * time.Second, MaxBody: 1024})
	defer c.CloseIdle()
	tests := []struct {
		path, want, err string
		failWrite       bool
	}{
		{path: "/small", want: "hello"},
		{path: "/empty", want: ""},
		{path: "/big", err: "body larger than 1 KiB"},
		{path: "/gzip", err: "body larger than 1 KiB"},
		{path: "/nope", err: "404 Not Found"},
		{path: "/small", err: "write: disk full", failWrite: true},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		var w io.Writer = &b
		if tt.failWrite {
			w = failingWriter{}
		}
		n, ferr := c.Copy(context.Background(), fetch.Request{URL: srv.URL + tt.path}, w)
		switch {
		case tt.err != "" && (ferr == nil || ferr.Cause != tt.err):
			t.Errorf("%s: err %v, want %q", tt.path, ferr, tt.err)
		case tt.err == "" && (ferr != nil || b.String() != tt.want || n != int64(len(tt.want))):
			t.Errorf("%s: %d bytes %q, err %v; want %q", tt.path, n, b.String(), ferr, tt.want)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
