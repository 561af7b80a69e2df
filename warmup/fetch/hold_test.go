package fetch_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/fetch"
)

// A body of unknown length (chunked) is held once, not twice: 64 MiB
// read under a 128 MiB limit allocates about its size, and is returned
// whole and in order. One past the limit is refused as before.
func TestChunkedBodyHeldOnce(t *testing.T) {
	const size = 64 << 20
	const mib = 1 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, mib)
		rc := http.NewResponseController(w)
		for i := range size / mib {
			chunk[0] = byte(i) // each MiB says where it belongs
			w.Write(chunk)
			rc.Flush()
		}
	}))
	defer srv.Close()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	body, ferr := get(t, fetch.Options{Timeout: time.Minute, MaxBody: 2 * size}, fetch.Request{URL: srv.URL})
	runtime.ReadMemStats(&after)
	checkErr(t, ferr, "", false)
	if len(body) != size {
		t.Fatalf("body of %d bytes, want %d", len(body), size)
	}
	zeros := make([]byte, mib-1)
	for i := range size / mib {
		if got := body[i*mib]; got != byte(i) || !bytes.Equal(body[i*mib+1:(i+1)*mib], zeros) {
			t.Fatalf("MiB %d of the body is not the origin's (starts with %d)", i, got)
		}
	}
	// Joining pieces allocated the body twice (128 MiB and more).
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > size+size/3 {
		t.Fatalf("reading a %d MiB body allocated %d MiB", size>>20, alloc>>20)
	}
	t.Logf("reading a %d MiB body allocated %d MiB", size>>20, alloc>>20)

	_, ferr = get(t, fetch.Options{Timeout: time.Minute, MaxBody: size / 2}, fetch.Request{URL: srv.URL})
	checkErr(t, ferr, fmt.Sprintf("body larger than %d MiB", size>>21), false)
}
