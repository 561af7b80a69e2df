package source

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// This file holds the file room's readers (file.go is the room): a file's
// bytes, plain, gzip or a stream (input.go), read line by line as JSONL
// or text, or as CSV records under a header.

func kindName(kind string) string {
	switch kind {
	case KindStream:
		return "a stream"
	case KindGzip:
		return "a gzip file"
	}
	return "a plain file"
}

// input is an opened file spec: its bytes (the file's, decompressed, or
// a stream's) and how they are to be read.
type input struct {
	name      string
	kind      string
	csv, text bool
	r         io.Reader
	closer    io.Closer
	// file is set for a plain file, which resumes by seeking.
	file *os.File
}

// open makes the source, positioned at from (nil: the start).
func (in input) open(from *Resume) (Source, error) {
	if in.csv {
		return newCSVSource(in, from)
	}
	s := &lineSource{closer: in.closer, name: in.name, text: in.text, kind: in.kind}
	if from == nil {
		s.r, s.bom = bufio.NewReaderSize(in.r, 256<<10), true
		return s, nil
	}
	if in.file != nil {
		if err := seekLineStart(in.file, from.Offset); err != nil {
			return nil, fmt.Errorf("resume %s at byte %d: %w", in.name, from.Offset, err)
		}
		s.r = bufio.NewReaderSize(in.r, 256<<10)
	} else {
		s.r = bufio.NewReaderSize(in.r, 256<<10)
		if err := skipTo(s.r, 0, from.Offset); err != nil {
			return nil, fmt.Errorf("resume %s at byte %d: %w", in.name, from.Offset, err)
		}
	}
	s.off, s.line = from.Offset, max(from.Line-1, 0)
	return s, nil
}

// seekLineStart moves f to offset, which must be the start of a line: the
// file changed since the resume point was taken otherwise.
func seekLineStart(f *os.File, offset int64) error {
	if offset == 0 {
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], offset-1); err != nil || offset > st.Size() {
		return errors.New("the file is shorter than it was: it changed since the report")
	}
	if b[0] != '\n' && offset != st.Size() {
		return errors.New("not the start of a line: the file changed since the report")
	}
	_, err = f.Seek(offset, io.SeekStart)
	return err
}

// lineSource reads .jsonl (one JSON value a line) or .txt (one string a
// line) files, streaming, with a bounded line length.
type lineSource struct {
	closer io.Closer
	r      *bufio.Reader
	name   string
	text   bool
	kind   string
	// bom is true until the first read has dropped a byte order mark
	// (only a source read from its start looks for one).
	bom bool
	// off is the byte offset of the next unread line; line is the number
	// of the last line read.
	off     int64
	line    int
	eof     bool
	stopped bool
	err     error
	buf     []byte
}

func (s *lineSource) Next() (Item, bool) {
	if s.eof || s.stopped || s.err != nil {
		return Item{}, false
	}
	if s.bom {
		s.bom = false
		s.off += skipBOM(s.r)
	}
	for {
		line, tooLong, err := s.readLine()
		if err != nil {
			switch {
			case err == io.EOF:
				s.eof = true
			case errors.Is(err, errStopped):
				s.stopped = true
			default:
				s.err = fmt.Errorf("read %s:%d: %w", s.name, s.line, err)
			}
			return Item{}, false
		}
		if tooLong {
			where := s.name + ":" + strconv.Itoa(s.line)
			return Item{Raw: jsonString(string(line[:64]) + "…"), File: s.name, Line: s.line,
				Err: fmt.Errorf("%s: line longer than %d bytes", where, MaxLine)}, true
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			continue
		}
		if s.text {
			str := string(trimmed)
			return Item{Raw: jsonString(str), File: s.name, Line: s.line, value: str, decoded: true}, true
		}
		raw := bytes.Clone(trimmed)
		if !validJSON(raw) {
			_, err := decodeJSON(raw)
			if err == nil {
				err = errors.New("invalid JSON")
			}
			where := s.name + ":" + strconv.Itoa(s.line)
			return Item{Raw: jsonString(string(raw)), File: s.name, Line: s.line, Err: fmt.Errorf("%s: %w", where, err)}, true
		}
		return Item{Raw: raw, File: s.name, Line: s.line, jsonText: true}, true
	}
}

// readLine returns the next line without its newline. A line over MaxLine
// is cut and its rest skipped.
func (s *lineSource) readLine() (line []byte, tooLong bool, err error) {
	s.buf = s.buf[:0]
	read := 0
	for {
		chunk, err := s.r.ReadSlice('\n')
		read += len(chunk)
		if len(s.buf)+len(chunk) > MaxLine {
			tooLong = true
			if len(s.buf) < 64 {
				s.buf = append(s.buf, chunk[:min(len(chunk), 64)]...)
			}
		} else {
			s.buf = append(s.buf, chunk...)
		}
		switch err {
		case nil:
			s.consumed(read)
			return bytes.TrimRight(s.buf, "\r\n"), tooLong, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if read == 0 {
				return nil, false, io.EOF
			}
			s.consumed(read)
			return bytes.TrimRight(s.buf, "\r\n"), tooLong, nil
		default:
			return nil, false, err
		}
	}
}

func (s *lineSource) consumed(n int) {
	s.off += int64(n)
	s.line++
}

func (s *lineSource) Err() error   { return s.err }
func (s *lineSource) Total() int64 { return -1 }
func (s *lineSource) Resume() Resume {
	if s.eof {
		return Resume{Done: true}
	}
	return Resume{Kind: s.kind, Offset: s.off, Line: s.line + 1, Remaining: -1}
}
func (s *lineSource) Close() error { return s.closer.Close() }

// csvSource reads a CSV file whose header row names the fields.
type csvSource struct {
	in     input
	br     *bufio.Reader
	r      *csv.Reader
	name   string
	kind   string
	header []string
	// started is set once the header is read: at Open for a file, at the
	// first Next for a stream, whose first line may be long in coming.
	started bool
	// base is the offset the reader started at, and baseLine the number
	// of lines before it.
	base     int64
	baseLine int
	nextLine int
	err      error
	done     bool
	stopped  bool
}

func newCSVSource(in input, from *Resume) (Source, error) {
	s := &csvSource{in: in, name: in.name, kind: in.kind, nextLine: 1}
	if in.kind == KindStream {
		return s, nil
	}
	if err := s.start(from); err != nil {
		return nil, err
	}
	return s, nil
}

// start reads the header row, then stands at from (nil: just past the
// header).
func (s *csvSource) start(from *Resume) error {
	s.started = true
	src := s.in.r
	if s.in.file != nil && from != nil {
		// The header is at the start; the reader goes on from the resume
		// point.
		src = io.NewSectionReader(s.in.file, 0, 1<<62)
	}
	s.br = bufio.NewReaderSize(src, 256<<10)
	bomLen := skipBOM(s.br)
	r := csv.NewReader(s.br)
	header, err := r.Read()
	switch {
	case err == io.EOF:
		s.done = true
		return nil
	case errors.Is(err, errStopped):
		s.stopped = true
		return nil
	case err != nil:
		return fmt.Errorf("%s:1: header row: %w", s.name, err)
	}
	if err := duplicateColumn(header); err != nil {
		return fmt.Errorf("%s:1: %w", s.name, err)
	}
	s.header = append([]string(nil), header...)
	end := bomLen + r.InputOffset()
	last, _ := r.FieldPos(len(header) - 1)
	lines := last + strings.Count(header[len(header)-1], "\n")
	r.ReuseRecord = true
	r.FieldsPerRecord = len(header)
	// The reader read the header from the start: its offsets and line
	// numbers are the file's.
	s.r, s.base, s.baseLine, s.nextLine = r, bomLen, 0, lines+1
	if from == nil || from.Offset <= end {
		return nil
	}
	if s.in.file != nil {
		if err := seekLineStart(s.in.file, from.Offset); err != nil {
			return fmt.Errorf("resume %s at byte %d: %w", s.name, from.Offset, err)
		}
		s.br = bufio.NewReaderSize(s.in.file, 256<<10)
	} else if err := skipTo(s.br, end, from.Offset); err != nil {
		return fmt.Errorf("resume %s at byte %d: %w", s.name, from.Offset, err)
	}
	s.r = csv.NewReader(s.br)
	s.r.ReuseRecord = true
	s.r.FieldsPerRecord = len(header)
	s.base, s.baseLine, s.nextLine = from.Offset, from.Line-1, from.Line
	return nil
}

// duplicateColumn refuses a header that names a column twice: the row's
// map would keep only the last of them, silently.
func duplicateColumn(header []string) error {
	seen := make(map[string]int, len(header))
	for i, h := range header {
		if j, dup := seen[h]; dup {
			return fmt.Errorf("duplicate column %q in the header (columns %d and %d)", h, j+1, i+1)
		}
		seen[h] = i
	}
	return nil
}

func (s *csvSource) Next() (Item, bool) {
	if !s.started {
		if err := s.start(nil); err != nil {
			s.err = err
			return Item{}, false
		}
	}
	if s.header == nil || s.done || s.stopped || s.err != nil {
		return Item{}, false
	}
	rec, err := s.r.Read()
	if err == io.EOF {
		s.done = true
		return Item{}, false
	}
	line, _ := s.r.FieldPos(0)
	line += s.baseLine
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			l := pe.Line + s.baseLine
			s.nextLine = l + 1
			where := s.name + ":" + strconv.Itoa(l)
			return Item{Raw: jsonString(strings.Join(rec, ",")), File: s.name, Line: l, Err: fmt.Errorf("%s: %v", where, pe.Err)}, true
		}
		if errors.Is(err, errStopped) {
			s.stopped = true
			return Item{}, false
		}
		s.err = fmt.Errorf("read %s: %w", s.name, err)
		return Item{}, false
	}
	last, _ := s.r.FieldPos(len(rec) - 1)
	s.nextLine = last + s.baseLine + strings.Count(rec[len(rec)-1], "\n") + 1
	it := csvItem(s.header, rec)
	it.File, it.Line = s.name, line
	return it, true
}

// csvItem is a CSV record as an item: a map from the header's names to
// the record's fields.
func csvItem(header, rec []string) Item {
	m := make(map[string]any, len(header))
	var b bytes.Buffer
	b.WriteByte('{')
	for i, h := range header {
		val := ""
		if i < len(rec) {
			val = rec[i]
		}
		m[h] = val
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(h))
		b.WriteByte(':')
		b.Write(jsonString(val))
	}
	b.WriteByte('}')
	return Item{Raw: b.Bytes(), value: m, decoded: true, header: header}
}

func (s *csvSource) Err() error   { return s.err }
func (s *csvSource) Total() int64 { return -1 }
func (s *csvSource) Resume() Resume {
	switch {
	case s.done, s.started && s.header == nil && !s.stopped && s.err == nil:
		return Resume{Done: true}
	case s.r == nil:
		// Nothing read yet (a stream that stopped, or failed, before its
		// header).
		return Resume{Kind: s.kind, Line: 1, Remaining: -1}
	}
	return Resume{Kind: s.kind, Offset: s.base + s.r.InputOffset(), Line: s.nextLine, Remaining: -1}
}
func (s *csvSource) Close() error { return s.in.closer.Close() }
