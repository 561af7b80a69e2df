package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	segjson "github.com/segmentio/encoding/json"
)

// validJSON reports whether b is one valid JSON value, exactly as
// encoding/json.Valid decides (FuzzValidJSON checks that), with
// segmentio/encoding's faster validator: validation is a large share of a
// bulk load's CPU (the README's Performance section has the figures).
//
// A line of 10,000 bytes or more goes to encoding/json: only such a line
// can nest deeper than encoding/json's limit of 10,000, which segmentio
// does not enforce.
func validJSON(b []byte) bool {
	if len(b) >= 10000 {
		return json.Valid(b)
	}
	return segjson.Valid(b)
}

// MaxLine is the longest source line accepted; a longer one rejects its
// item and the file goes on.
const MaxLine = 1 << 20

// Item is one unit of work read from a source.
type Item struct {
	// Raw is the item's JSON encoding: what the report shows and what is
	// written when the loader does not fetch (strings are written as-is).
	Raw []byte
	// File and Line say where a file's item came from (Line 0: File holds
	// a position already, as items from a report do).
	File string
	Line int
	// Err is set when the source could not read this item (a malformed
	// line); the item is rejected with it and never retried.
	Err error

	value   any
	decoded bool
	// header is a CSV item's header, for its exact form.
	header []string
	// jsonText says that Raw is the item as it was read: a JSONL line,
	// or an item's JSON from a report.
	jsonText bool
	// rawExact says that templates print value exactly as Raw reads (a
	// range's integers), so the fast template path may render from Raw.
	rawExact bool
}

// FromJSON is an item read back from a report: raw is its JSON and where
// its position, if it had one.
func FromJSON(raw []byte, where string) Item { return Item{Raw: raw, File: where, jsonText: true} }

// Exact reports whether templates print the item exactly as Raw reads (a
// range's integers, any item not yet decoded), so a template may be
// rendered from Raw without decoding it.
func (it *Item) Exact() bool { return !it.decoded || it.rawExact }

// Where is file:line for items read from a file, else "".
func (it *Item) Where() string {
	if it.Line == 0 {
		return it.File
	}
	return it.File + ":" + strconv.Itoa(it.Line)
}

// Value returns the decoded item templates see: a string (its bytes kept,
// UTF-8 or not), a json.Number, an int64 (a range's), a map[string]any
// (JSON objects, CSV rows) or other JSON values.
func (it *Item) Value() (any, error) {
	if it.decoded {
		return it.value, nil
	}
	v, err := decodeJSON(it.Raw)
	if err != nil {
		return nil, err
	}
	it.value, it.decoded = v, true
	return v, nil
}

// DecodeJSON decodes one JSON value as an item's JSON is decoded: numbers
// as json.Number, strings with their bytes kept.
func DecodeJSON(raw []byte) (any, error) { return decodeJSON(raw) }

func decodeJSON(raw []byte) (any, error) {
	if !utf8.Valid(raw) && validJSON(raw) {
		return decodeKeepingBytes(raw), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: more than one value on the line")
	}
	return v, nil
}

func jsonErr(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: unexpected end of line")
	}
	return fmt.Errorf("invalid JSON: %s", err.Error())
}

// StringValue is what is written for the item when nothing is fetched:
// a JSON string as its text, anything else as JSON.
func (it *Item) StringValue() []byte {
	if len(it.Raw) > 0 && it.Raw[0] == '"' {
		if v, err := it.Value(); err == nil {
			if s, ok := v.(string); ok {
				return []byte(s)
			}
		}
	}
	return it.Raw
}

// Source streams a loader's items. Its methods are called from one
// goroutine.
type Source interface {
	// Next returns the next item, or false at the end.
	Next() (Item, bool)
	// Err is the error that ended the stream early, if any.
	Err() error
	// Total is the number of items still to come when that is known up
	// front (lists, ranges), else -1.
	Total() int64
	// Resume says where the next unread item is.
	Resume() Resume
	// Close releases the file a source reads, if any.
	Close() error
}

// Resume is where a source stands: the first item it has not yielded.
// A run that stops early records it, and Open reads on from it.
type Resume struct {
	// Done is true when every item was read.
	Done bool `json:"done"`
	// Kind says how a file's Offset is to be read: KindFile (""), KindGzip
	// or KindStream, which no run can read on from; or KindSQL.
	Kind string `json:"kind,omitempty"`
	// Next is a range's next value, a list's next index, or the number
	// of a query's rows read.
	Next int64 `json:"next,omitempty"`
	// Offset and Line are a file's byte offset and line number of the
	// next unread line.
	Offset int64 `json:"offset,omitempty"`
	Line   int   `json:"line,omitempty"`
	// Remaining counts the items not read, or -1 when only reading them
	// would tell (the rest of a file).
	Remaining int64 `json:"remaining"`
}

// Describe says where r stands, for people: "from line 812 (byte 40960)".
func (r Resume) Describe(spec Spec) string {
	switch {
	case r.Done:
		return "nothing left"
	case r.Kind == KindStream:
		return fmt.Sprintf("from line %d of %s, a stream that cannot be read again", r.Line, spec.name())
	case r.Kind == KindGzip:
		return fmt.Sprintf("from line %d (byte %d decompressed)", r.Line, r.Offset)
	case r.Kind == KindSitemap:
		return fmt.Sprintf("from sitemap item %d", r.Next+1)
	case r.Kind == KindSQL:
		return fmt.Sprintf("from row %d", r.Next+1)
	case spec.File != "":
		return fmt.Sprintf("from line %d (byte %d)", r.Line, r.Offset)
	case spec.Range != nil:
		return fmt.Sprintf("from %d", r.Next)
	default:
		return fmt.Sprintf("from item %d", r.Next+1)
	}
}

// Spec says where a loader's items come from. Exactly one of File, List,
// Range, Sitemap, SQL is set, or none (a single item).
type Spec struct {
	// File is an absolute path to a .jsonl, .txt or .csv file, each
	// optionally gzip-compressed (.gz), to a FIFO, or Stdin ("-").
	File string
	// Format is FormatJSONL, FormatText or FormatCSV; "" takes it from
	// File's name.
	Format string
	// Stdin is what File "-" reads: nil is os.Stdin.
	Stdin   io.Reader
	List    []any
	Range   *[2]int64
	Sitemap *SitemapSpec
	// SQL is a query whose rows are the items, run in a read-only
	// transaction on DSN: a postgres:// or postgresql:// URL, or a
	// sqlite: or file: one naming a SQLite file.
	SQL, DSN string
	// DSNShown is how DSN is shown: its password hidden.
	DSNShown string
}

// Open opens the stream described by spec, from its start when from is
// nil, else from that resume point. A file that no longer matches the
// resume point (shorter, or the offset not at a line start) is an error.
// The rest of a stream (standard input, a pipe) cannot be read again: it
// yields nothing and stays not started.
func Open(spec Spec, from *Resume) (Source, error) {
	return OpenContext(context.Background(), spec, from)
}

// OpenContext is Open for a run that may stop: once ctx ends, a read
// waiting on a stream gives up and the source ends there, not done.
func OpenContext(ctx context.Context, spec Spec, from *Resume) (Source, error) {
	if from != nil && from.Done {
		return &sliceSource{}, nil
	}
	if err := from.fits(spec); err != nil {
		return nil, err
	}
	switch {
	case spec.File != "":
		return openFile(ctx, spec, from)
	case spec.Sitemap != nil:
		return openSitemap(ctx, spec, from)
	case spec.SQL != "":
		return openSQL(ctx, spec, from)
	case spec.List != nil:
		items := make([]Item, 0, len(spec.List))
		for _, v := range spec.List {
			raw, _ := json.Marshal(v)
			items = append(items, Item{Raw: raw, value: v, decoded: true})
		}
		return startSlice(items, from)
	case spec.Range != nil:
		next := spec.Range[0]
		if from != nil {
			if from.Next < spec.Range[0] || from.Next > spec.Range[1] {
				return nil, fmt.Errorf("resume point %d is outside range [%d, %d]", from.Next, spec.Range[0], spec.Range[1])
			}
			next = from.Next
		}
		return &rangeSource{next: next, last: spec.Range[1]}, nil
	default:
		return startSlice([]Item{{Raw: []byte("null"), decoded: true}}, from)
	}
}

func startSlice(items []Item, from *Resume) (Source, error) {
	s := &sliceSource{items: items}
	if from != nil {
		if from.Next < 0 || from.Next > int64(len(items)) {
			return nil, fmt.Errorf("resume point item %d is past the list's %d items", from.Next+1, len(items))
		}
		s.i = int(from.Next)
	}
	return s, nil
}

// fits refuses a resume point recorded for another kind of source (the
// loader read a range and now reads a file, or the other way round):
// reading on from it would start at a wrong place. A file's resume point
// always has a line; a list's or a range's never does; a sitemap's and a
// query's have their own kind.
func (r *Resume) fits(spec Spec) error {
	if r == nil {
		return nil
	}
	fromSitemap := r.Kind == KindSitemap
	fromSQL := r.Kind == KindSQL
	fromFile := !fromSitemap && !fromSQL && (r.Line > 0 || r.Offset > 0 || r.Kind != KindFile)
	switch {
	case spec.Sitemap != nil && !fromSitemap && *r != (Resume{Remaining: r.Remaining}):
		// (A source that failed to open records an empty resume point,
		// its start; so does a query that failed to run.)
		return errors.New("the resume point is not a sitemap's, and the loader now reads a sitemap")
	case spec.Sitemap == nil && fromSitemap:
		return errors.New("the resume point is a sitemap's, and the loader now reads no sitemap")
	case spec.SQL != "" && !fromSQL && *r != (Resume{Remaining: r.Remaining}):
		return errors.New("the resume point is not a query's, and the loader now runs a query")
	case spec.SQL == "" && fromSQL:
		return errors.New("the resume point is a query's, and the loader now runs none")
	case spec.File != "" && !fromFile:
		return errors.New("the resume point is a list's or a range's, and the loader now reads a file")
	case spec.File == "" && fromFile:
		return errors.New("the resume point is a file's, and the loader now reads no file")
	}
	return nil
}

// Describe says what a spec reads, for tiles and tables.
func (s Spec) Describe() string {
	switch {
	case s.File != "":
		return s.name()
	case s.Sitemap != nil:
		if filepath.IsAbs(s.Sitemap.URL) {
			return "sitemap " + filepath.Base(s.Sitemap.URL)
		}
		return "sitemap " + displayURL(s.Sitemap.URL)
	case s.SQL != "":
		return s.describeSQL()
	case s.List != nil:
		return fmt.Sprintf("list of %d", len(s.List))
	case s.Range != nil:
		return fmt.Sprintf("range %d..%d", s.Range[0], s.Range[1])
	default:
		return "single item"
	}
}

// Slice streams items already in memory.
func Slice(items []Item) Source { return &sliceSource{items: items} }

type sliceSource struct {
	items []Item
	i     int
}

func (s *sliceSource) Next() (Item, bool) {
	if s.i >= len(s.items) {
		return Item{}, false
	}
	it := s.items[s.i]
	s.items[s.i] = Item{} // let the GC have it
	s.i++
	return it, true
}
func (s *sliceSource) Err() error   { return nil }
func (s *sliceSource) Total() int64 { return int64(len(s.items) - s.i) }
func (s *sliceSource) Resume() Resume {
	left := int64(len(s.items) - s.i)
	return Resume{Done: left == 0, Next: int64(s.i), Remaining: left}
}
func (s *sliceSource) Close() error { return nil }

type rangeSource struct {
	next, last int64
	done       bool
}

func (s *rangeSource) Next() (Item, bool) {
	if s.done || s.next > s.last {
		return Item{}, false
	}
	n := s.next
	if n == s.last {
		s.done = true
	} else {
		s.next++
	}
	return rangeItem(n), true
}

// rangeItem is a range's item n: an int64, which templates print as its
// digits, so it renders from Raw.
func rangeItem(n int64) Item {
	return Item{Raw: strconv.AppendInt(nil, n, 10), value: n, decoded: true, rawExact: true}
}
func (s *rangeSource) Err() error { return nil }
func (s *rangeSource) Total() int64 {
	if s.done {
		return 0
	}
	return s.last - s.next + 1
}
func (s *rangeSource) Resume() Resume {
	left := s.Total()
	return Resume{Done: left == 0, Next: s.next, Remaining: left}
}
func (s *rangeSource) Close() error { return nil }

func openFile(ctx context.Context, spec Spec, from *Resume) (Source, error) {
	kind, err := spec.kind()
	if err != nil {
		return nil, err
	}
	name := spec.name()
	// A resume point at byte 0 of a file is its start, whatever its kind
	// (a source that failed to open records one); a stream's is not.
	if from != nil && (from.Offset > 0 || from.Kind == KindStream) {
		if from.Kind != kind {
			return nil, fmt.Errorf("resume %s: the report read it as %s, it is now %s: the loader's items changed since the report", name, kindName(from.Kind), kindName(kind))
		}
		if kind == KindStream {
			return &unreadStream{at: *from}, nil
		}
	} else {
		from = nil
	}
	in := input{name: name, kind: kind, csv: spec.format() == FormatCSV, text: spec.format() == FormatText}
	switch kind {
	case KindStream:
		sr := openStream(ctx, spec)
		in.r, in.closer = sr, sr
	case KindGzip:
		zr, f, err := openGzip(spec.File)
		if err != nil {
			return nil, err
		}
		in.r, in.closer = zr, f
	default:
		f, err := os.Open(spec.File)
		if err != nil {
			return nil, fmt.Errorf("open items: %s", FileErr(err))
		}
		in.r, in.closer, in.file = f, f, f
	}
	src, err := in.open(from)
	if err != nil {
		in.closer.Close()
		return nil, err
	}
	return src, nil
}

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

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// FileErr shortens a file error to what a user acts on:
// "data.jsonl: no such file".
func FileErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Sprintf("%s: no such file", pe.Path)
		case errors.Is(err, os.ErrPermission):
			return fmt.Sprintf("%s: permission denied", pe.Path)
		}
	}
	return err.Error()
}
