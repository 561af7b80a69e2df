package source

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Formats of a file's items.
const (
	FormatJSONL = "jsonl"
	FormatText  = "txt"
	FormatCSV   = "csv"
)

// Stdin is the File that names standard input.
const Stdin = "-"

// Kinds of resume point (Resume.Kind): how its offset is to be read.
const (
	// KindFile (the zero value) is a byte offset into the file itself.
	KindFile = ""
	// KindGzip is a byte offset into a gzip file's decompressed content:
	// the file is read again from its start up to there.
	KindGzip = "gzip"
	// KindStream is standard input or a pipe, which cannot be read again:
	// Line says how far the run got, for the operator to feed the rest.
	KindStream = "stream"
)

// FormatOf is the format a file's name says (.jsonl or .ndjson, .txt,
// .csv, each optionally .gz), or "" when it says none.
func FormatOf(name string) string {
	ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(strings.ToLower(name), ".gz")))
	switch ext {
	case ".jsonl", ".ndjson":
		return FormatJSONL
	case ".txt":
		return FormatText
	case ".csv":
		return FormatCSV
	}
	return ""
}

// bom is the UTF-8 byte order mark some tools write at the start of a
// file; it is not part of the first line.
const bom = "\xef\xbb\xbf"

// skipBOM drops a byte order mark at r's start and returns its length.
// Only ever called at offset 0: a BOM further on is data.
func skipBOM(r *bufio.Reader) int64 {
	if b, err := r.Peek(len(bom)); err == nil && string(b) == bom {
		r.Discard(len(bom))
		return int64(len(bom))
	}
	return 0
}

// skipTo reads r, which stands at byte pos, on to offset, which must be
// the start of a line: the way a gzip file is resumed, since its
// compressed bytes cannot be sought into.
func skipTo(r *bufio.Reader, pos, offset int64) error {
	if offset <= pos {
		if offset < pos {
			return errors.New("not the start of a line: the file changed since the report")
		}
		return nil
	}
	if n, err := io.CopyN(io.Discard, r, offset-pos-1); err != nil || n != offset-pos-1 {
		return errors.New("the file is shorter than it was: it changed since the report")
	}
	b, err := r.ReadByte()
	if err != nil {
		return errors.New("the file is shorter than it was: it changed since the report")
	}
	if b != '\n' {
		// The end of a last line without a newline is a line start too.
		if _, err := r.Peek(1); err != io.EOF {
			return errors.New("not the start of a line: the file changed since the report")
		}
	}
	return nil
}

// openGzip opens a gzip file for reading its decompressed content.
func openGzip(path string) (io.Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open items: %s", FileErr(err))
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a gzip file: %w", filepath.Base(path), err)
	}
	return zr, f, nil
}

// errStopped ends a read from a stream when the run stops: the next line
// of a pipe may be long in coming, and a stop must not wait for it.
var errStopped = errors.New("stopped")

// streamReader reads a stream (standard input, a pipe) in a goroutine of
// its own, so that a read the run no longer wants can be given up: Read
// returns errStopped once ctx ends. Two buffers go back and forth, so its
// memory is bounded whatever the stream's size.
type streamReader struct {
	ctx  context.Context
	full chan chunk
	free chan []byte
	done chan struct{}
	once sync.Once

	held []byte // the buffer cur is part of, returned to free when read
	cur  []byte
	err  error
}

type chunk struct {
	b   []byte
	err error
}

const streamBuffer = 64 << 10

// newStreamReader reads what open opens. open runs in the reading
// goroutine, since opening a FIFO waits for its writer; the close it
// returns, if any, runs when reading ends.
func newStreamReader(ctx context.Context, open func() (io.Reader, func() error, error)) *streamReader {
	s := &streamReader{ctx: ctx, full: make(chan chunk), free: make(chan []byte, 2), done: make(chan struct{})}
	s.free <- make([]byte, streamBuffer)
	s.free <- make([]byte, streamBuffer)
	go s.pump(open)
	return s
}

func (s *streamReader) pump(open func() (io.Reader, func() error, error)) {
	r, closeFn, err := open()
	if err != nil {
		s.send(chunk{err: err})
		return
	}
	if closeFn != nil {
		defer closeFn()
	}
	for {
		var buf []byte
		select {
		case buf = <-s.free:
		case <-s.done:
			return
		}
		n, err := r.Read(buf[:cap(buf)])
		if n == 0 && err == nil {
			s.free <- buf
			continue
		}
		if !s.send(chunk{buf[:n], err}) || err != nil {
			return
		}
	}
}

func (s *streamReader) send(c chunk) bool {
	select {
	case s.full <- c:
		return true
	case <-s.done:
		return false
	}
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.held != nil {
			s.free <- s.held
			s.held = nil
		}
		select {
		case c := <-s.full:
			s.held, s.cur, s.err = c.b, c.b, c.err
		case <-s.ctx.Done():
			return 0, errStopped
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// Close lets the reading goroutine end after the read it is in, if any:
// a read of standard input cannot be called off, and the process ends it.
func (s *streamReader) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}

// openStream reads spec's stream: standard input (spec.Stdin, or
// os.Stdin), or the pipe at spec.File.
func openStream(ctx context.Context, spec FileSpec) *streamReader {
	if spec.ReadsStdin() {
		in := spec.Stdin
		if in == nil {
			in = os.Stdin
		}
		// Standard input is not the run's to close.
		return newStreamReader(ctx, func() (io.Reader, func() error, error) { return in, nil, nil })
	}
	return newStreamReader(ctx, func() (io.Reader, func() error, error) {
		f, err := os.Open(spec.File)
		if err != nil {
			return nil, nil, fmt.Errorf("open items: %s", FileErr(err))
		}
		return f, f.Close, nil
	})
}

// unreadStream is the rest of a stream that an earlier run stopped
// reading: a stream cannot be read again, so it yields nothing and stays
// where the report left it, not started.
type unreadStream struct{ at Resume }

func (s *unreadStream) Next() (Item, bool) { return Item{}, false }
func (s *unreadStream) Err() error         { return nil }
func (s *unreadStream) Total() int64       { return -1 }
func (s *unreadStream) Resume() Resume     { return s.at }
func (s *unreadStream) Close() error       { return nil }
