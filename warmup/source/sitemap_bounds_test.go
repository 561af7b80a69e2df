package source

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A sitemap is read as a stream whatever its size: 64 MiB of whitespace
// between two URLs (the indentation of a pretty-printer gone wrong), in a
// file or in a gzip bomb under run.max_body, costs neither memory nor
// lines, and both URLs are items on their own lines.
func TestSitemapWhitespaceCostsNoMemory(t *testing.T) {
	const gap = 64 << 20
	for _, compressed := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", compressed), func(t *testing.T) {
			path := writePadded(t, gap, compressed)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			src, err := Open(&SitemapSpec{URL: path, MaxBody: 2 * gap}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var lines []int
			for {
				it, ok := src.Next()
				if !ok {
					break
				}
				if it.Err != nil {
					t.Fatalf("item rejected: %v", it.Err)
				}
				lines = append(lines, it.Line)
			}
			runtime.ReadMemStats(&after)
			if src.Err() != nil {
				t.Fatal(src.Err())
			}
			wantLast := 3 + gap/64
			if len(lines) != 2 || lines[0] != 3 || lines[1] != wantLast {
				t.Fatalf("items on lines %v, want [3 %d]", lines, wantLast)
			}
			// Allocated, not live: a decoder holding the gap allocates it
			// (and its growth) at least once.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Fatalf("reading the sitemap allocated %d MiB", alloc>>20)
			}
		})
	}
}

// writePadded writes a sitemap of two URLs with gap bytes of whitespace
// (lines of 64 bytes) between them, gzip-compressed if asked.
func writePadded(t *testing.T, gap int, compressed bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "padded.xml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if compressed {
		zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(urlsetHead + "<url><loc>https://x.test/1</loc></url>")
	pad := strings.Repeat(" ", 63) + "\n"
	for range gap / len(pad) {
		bw.WriteString(pad)
	}
	bw.WriteString("<url><loc>https://x.test/2</loc></url></urlset>\n")
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// What encoding/xml would hold whole (a text, a tag, elements nested
// without end) breaks its sitemap at a bound instead; a field over its
// bound rejects its item only.
func TestSitemapBoundsPerToken(t *testing.T) {
	long := strings.Repeat("a", maxToken+1)
	tests := []struct {
		name, doc string
		want      []string
		err       string
	}{
		{"a text longer than maxToken", urlsetHead + "<url><loc>https://x.test/" + long + "</loc></url></urlset>",
			nil, "line 3: a tag, text or comment longer than 1048576 bytes"},
		{"a comment longer than maxToken", urlsetHead + "<!--" + long + "-->\n<url><loc>https://x.test/1</loc></url></urlset>",
			nil, "a tag, text or comment longer than"},
		{"an attribute longer than maxToken", urlsetHead + `<url a="` + long + `"><loc>https://x.test/1</loc></url></urlset>`,
			nil, "a tag, text or comment longer than"},
		{"elements nested without end in a url", urlsetHead + "<url>" + strings.Repeat("<a>", 10000) + "</urlset>",
			nil, "elements nested more than 32 deep"},
		{"elements nested without end beside the urls", urlsetHead + strings.Repeat("<a>", 10000) + "</urlset>",
			nil, "elements nested more than 32 deep"},
		{"a long lastmod rejects its item", urlsetHead + "<url><loc>https://x.test/1</loc><lastmod>" + strings.Repeat("2", maxField+1) +
			"</lastmod></url>\n<url><loc>https://x.test/2</loc></url></urlset>",
			[]string{fmt.Sprintf("rejected: s.xml:3: <lastmod> longer than %d bytes", maxField),
				`{"changefreq":"","lastmod":"","loc":"https://x.test/2","priority":""}`}, ""},
		{"whitespace around a loc is trimmed, however much", urlsetHead + "<url><loc>" + strings.Repeat(" \n", maxToken) + "https://x.test/1" +
			strings.Repeat("\t", maxToken) + "</loc></url></urlset>",
			[]string{`{"changefreq":"","lastmod":"","loc":"https://x.test/1","priority":""}`}, ""},
		{"a long whitespace run inside a loc still makes it too long", urlsetHead + "<url><loc>https://x.test/" + strings.Repeat(" ", maxToken) +
			"x</loc></url></urlset>", []string{"rejected: s.xml:3: <loc> longer than 8192 bytes"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.xml")
			if err := os.WriteFile(path, []byte(tt.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := Open(&SitemapSpec{URL: path, MaxBody: 1 << 20}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got := readAll(t, src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.err == "" && src.Err() != nil || tt.err != "" && (src.Err() == nil || !strings.Contains(src.Err().Error(), tt.err)) {
				t.Fatalf("Err = %v, want %q", src.Err(), tt.err)
			}
		})
	}
}
