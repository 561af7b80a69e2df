package source_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cachewarm/cachewarm/warmup/source"
)

const bom = "\xef\xbb\xbf"

// gz compresses s, as gzip would.
func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A byte order mark at the start of a file is not part of its first
// line: a CSV header still names "id", line 1 of a JSONL or text file is
// still its item, and positions stay those of the file.
func TestByteOrderMarkIsNotData(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.csv":      bom + "id,name\n1,x\n2,y\n",
		"b.jsonl":    bom + "{\"id\":1}\n{bad\n",
		"c.txt":      bom + "alpha\nbeta\n",
		"d.jsonl.gz": gz(t, bom+"{\"id\":1}\n{\"id\":2}\n"),
		"e.jsonl":    bom,
	})
	tests := []struct {
		file  string
		items []string
	}{
		{"a.csv", []string{`a.csv:2 {"id":"1","name":"x"}`, `a.csv:3 {"id":"2","name":"y"}`}},
		{"b.jsonl", []string{`b.jsonl:1 {"id":1}`, "error b.jsonl:2: invalid JSON"}},
		{"c.txt", []string{`c.txt:1 "alpha"`, `c.txt:2 "beta"`}},
		{"d.jsonl.gz", []string{`d.jsonl.gz:1 {"id":1}`, `d.jsonl.gz:2 {"id":2}`}},
		{"e.jsonl", nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got := readAll(t, source.FileSpec{File: filepath.Join(dir, tc.file)}, nil, -1)
			if len(got) != len(tc.items) {
				t.Fatalf("items %q, want %q", got, tc.items)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.items[i]) {
					t.Errorf("item %q, want %q", got[i], tc.items[i])
				}
			}
		})
	}
	// The resume point after line 1 is a true offset into the file: the
	// mark's three bytes count.
	src, err := source.Open(source.FileSpec{File: filepath.Join(dir, "b.jsonl")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.Next()
	if at := src.Resume(); at.Offset != int64(len(bom+"{\"id\":1}\n")) || at.Line != 2 {
		t.Errorf("resume after line 1 at %+v, want offset %d line 2", at, len(bom+"{\"id\":1}\n"))
	}
}

// A header that names a column twice would keep the last column and drop
// the other silently: opening the file refuses it, naming file and column.
func TestDuplicateCSVColumnsAreRefused(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.csv":    "id,id,name\n1,2,x\n",
		"b.csv.gz": gz(t, bom+"id,name,name\n1,x,y\n"),
	})
	for file, want := range map[string]string{
		"a.csv":    `a.csv:1: duplicate column "id" in the header (columns 1 and 2)`,
		"b.csv.gz": `b.csv.gz:1: duplicate column "name" in the header (columns 2 and 3)`,
	} {
		spec := source.FileSpec{File: filepath.Join(dir, file)}
		if err := source.Check(spec); err == nil || err.Error() != want {
			t.Errorf("%s: Check: %v, want %q", file, err, want)
		}
		if _, err := source.Open(spec, nil); err == nil || err.Error() != want {
			t.Errorf("%s: Open: %v, want %q", file, err, want)
		}
	}
}

// Gzip files are read decompressed, in the format their name says
// without .gz (or the explicit one), with the positions of the
// decompressed lines.
func TestGzipFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.jsonl.gz": gz(t, "{\"id\":1}\n\n{bad\n[2]\n"),
		"b.csv.gz":   gz(t, "id,name\n1,\"x\ny\"\n2\n3,z\n"),
		"c.gz":       gz(t, "alpha\nbeta\n"),
		"d.jsonl.gz": "not gzip",
	})
	tests := []struct {
		spec  source.FileSpec
		items []string
	}{
		{source.FileSpec{File: filepath.Join(dir, "a.jsonl.gz")}, []string{`a.jsonl.gz:1 {"id":1}`, "error a.jsonl.gz:3: invalid JSON", "a.jsonl.gz:4 [2]"}},
		{source.FileSpec{File: filepath.Join(dir, "b.csv.gz")}, []string{`b.csv.gz:2 {"id":"1","name":"x\ny"}`, "error b.csv.gz:4: wrong number of fields", `b.csv.gz:5 {"id":"3","name":"z"}`}},
		{source.FileSpec{File: filepath.Join(dir, "c.gz"), Format: source.FormatText}, []string{`c.gz:1 "alpha"`, `c.gz:2 "beta"`}},
	}
	for _, tc := range tests {
		got := readAll(t, tc.spec, nil, -1)
		if len(got) != len(tc.items) {
			t.Fatalf("%s: items %q, want %q", tc.spec.File, got, tc.items)
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.items[i]) {
				t.Errorf("item %q, want %q", got[i], tc.items[i])
			}
		}
	}
	if err := source.Check(source.FileSpec{File: filepath.Join(dir, "d.jsonl.gz")}); err == nil || !strings.Contains(err.Error(), "d.jsonl.gz: not a gzip file") {
		t.Errorf("a file that is not gzip: %v", err)
	}
}

// Resuming a gzip file reads it again from its start up to the resume
// point, which is an offset into the decompressed content; a file that
// changed since is refused, as a plain file is.
func TestGzipResume(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.jsonl.gz": gz(t, bom+"{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n"),
		"b.jsonl.gz": gz(t, "{\"id\":1}\n"),
	})
	spec := source.FileSpec{File: filepath.Join(dir, "a.jsonl.gz")}
	src, err := source.Open(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.Next()
	at := src.Resume()
	src.Close()
	if at.Kind != source.KindGzip || at.Line != 2 || at.Offset != int64(len(bom+"{\"id\":1}\n")) {
		t.Fatalf("resume point %+v", at)
	}
	if got := readAll(t, spec, &at, -1); strings.Join(got, " ") != `a.jsonl.gz:2 {"id":2} a.jsonl.gz:3 {"id":3}` {
		t.Errorf("resumed: %q", got)
	}
	for _, bad := range []source.Resume{{Kind: source.KindGzip, Offset: 5, Line: 2}, {Kind: source.KindGzip, Offset: 400, Line: 9}, {Offset: at.Offset, Line: 2}} {
		if _, err := source.Open(spec, &bad); err == nil || !strings.Contains(err.Error(), "changed since the report") {
			t.Errorf("resume at %+v: %v", bad, err)
		}
	}
	if _, err := source.Open(source.FileSpec{File: filepath.Join(dir, "b.jsonl.gz")}, &at); err == nil || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("a shorter file: %v", err)
	}
}

// Standard input (File "-", read through Spec.Stdin) and a FIFO are read
// as streams: line by line as they come, never sought into or measured.
func TestStreams(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "items.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		// Opening a FIFO for writing waits for its reader: the source
		// opens it when it is first read, not before.
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		_, err = io.WriteString(f, bom+"id,name\n1,a\n2,b\n")
		f.Close()
		done <- err
	}()
	if err := source.Check(source.FileSpec{File: fifo}); err != nil {
		t.Fatalf("Check opened the FIFO: %v", err)
	}
	got := readAll(t, source.FileSpec{File: fifo}, nil, -1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != `items.csv:2 {"id":"1","name":"a"} items.csv:3 {"id":"2","name":"b"}` {
		t.Errorf("FIFO items %q", got)
	}

	stdin := source.FileSpec{File: source.Stdin, Format: source.FormatJSONL, Stdin: strings.NewReader(bom + "{\"id\":1}\n{bad\n\"x\"")}
	got = readAll(t, stdin, nil, -1)
	if len(got) != 3 || got[0] != `stdin:1 {"id":1}` || !strings.HasPrefix(got[1], "error stdin:2: invalid JSON") || got[2] != `stdin:3 "x"` {
		t.Errorf("stdin items %q", got)
	}
	if d := stdin.Describe(); d != "stdin" {
		t.Errorf("stdin described as %q", d)
	}
}

// A run that stops while a stream has nothing to read is not held up by
// it: the source ends there, not done, and its resume point says it is a
// stream and how far it got. Opened at that point again, it yields
// nothing: a stream cannot be read again, its rest stays not started.
func TestStoppedStream(t *testing.T) {
	for _, format := range []string{source.FormatJSONL, source.FormatCSV} {
		t.Run(format, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			text := "{\"id\":1}\n{\"id\":2}\n"
			if format == source.FormatCSV {
				text = "id\n1\n2\n"
			}
			go pw.Write([]byte(text))
			ctx, stop := context.WithCancel(context.Background())
			spec := source.FileSpec{File: source.Stdin, Format: format, Stdin: pr}
			src, err := source.OpenContext(ctx, spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			for range 2 {
				if it, ok := src.Next(); !ok || it.Err != nil {
					t.Fatalf("item: %v %v", ok, it.Err)
				}
			}
			stop()
			if _, ok := src.Next(); ok {
				t.Fatal("an item after the stop")
			}
			at := src.Resume()
			want := source.Resume{Kind: source.KindStream, Offset: int64(len(text)), Line: strings.Count(text, "\n") + 1, Remaining: -1}
			if src.Err() != nil || at != want {
				t.Fatalf("stopped at %+v (err %v), want %+v", at, src.Err(), want)
			}
			rest, err := source.Open(spec, &at)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := rest.Next(); ok || rest.Resume() != at {
				t.Errorf("the rest of a stream read again, or its resume point lost: %+v", rest.Resume())
			}
			// A resume point of another kind is for other items.
			if _, err := source.Open(source.FileSpec{File: source.Stdin, Format: format}, &source.Resume{Offset: 9, Line: 2}); err == nil ||
				!strings.Contains(err.Error(), "changed since the report") {
				t.Errorf("a file's resume point for a stream: %v", err)
			}
		})
	}
}

// A stream's CSV header cannot be read a second time: the reviver takes
// it from the run's one reading, and rebuilds items from their exact form.
func TestReviverFollowsAStreamsHeader(t *testing.T) {
	spec := source.FileSpec{File: source.Stdin, Format: source.FormatCSV, Stdin: strings.NewReader("id,name\n1,caf\xe9\n")}
	rv, err := source.NewReviver(spec)
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.Open(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rv.Follow(src)
	it, ok := src.Next()
	if !ok || it.Lossless() == nil {
		t.Fatalf("item %v, exact %q", ok, it.Lossless())
	}
	back, err := rv.Item(it.Raw, it.Lossless(), it.Where())
	if err != nil {
		t.Fatal(err)
	}
	if string(back.StringValue()) != string(it.StringValue()) {
		t.Errorf("revived %q, want %q", back.StringValue(), it.StringValue())
	}
}
