package warmup

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	segjson "github.com/segmentio/encoding/json"
)

// validJSON reports whether b is one valid JSON value, exactly as
// encoding/json.Valid decides (FuzzValidJSON checks that), but about four
// times faster: segmentio/encoding's validator takes 116 ns for a
// 100-byte line where encoding/json takes 437 ns, which was 22% of a bulk
// load's CPU.
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
	// Attempts made before, for items fed back by a retry.
	Attempts int

	// prev is the earlier rejection of an item fed back by a retry.
	prev    *Rejection
	value   any
	decoded bool
	// rawExact says that templates print value exactly as Raw reads (a
	// range's integers), so the fast template path may render from Raw.
	rawExact bool
}

// Where is file:line for items read from a file, else "".
func (it *Item) Where() string {
	if it.Line == 0 {
		return it.File
	}
	return it.File + ":" + strconv.Itoa(it.Line)
}

// Value returns the decoded item templates see: a string, a json.Number,
// an int64, a map[string]any (JSON objects, CSV rows) or other JSON values.
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

func decodeJSON(raw []byte) (any, error) {
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

// Source streams a loader's items. Next is called from one goroutine.
type Source interface {
	// Next returns the next item, or false at the end.
	Next() (Item, bool)
	// Err is the error that ended the stream early, if any.
	Err() error
	// Total is the number of items when known up front, else -1.
	Total() int64
	Close() error
}

// OpenSource opens the stream described by spec.
func OpenSource(spec ItemsSpec) (Source, error) {
	switch {
	case spec.File != "":
		return openFile(spec.File)
	case spec.List != nil:
		items := make([]Item, 0, len(spec.List))
		for _, v := range spec.List {
			raw, _ := json.Marshal(v)
			items = append(items, Item{Raw: raw, value: v, decoded: true})
		}
		return &sliceSource{items: items}, nil
	case spec.Range != nil:
		return &rangeSource{next: spec.Range[0], last: spec.Range[1]}, nil
	default:
		return &sliceSource{items: []Item{{Raw: []byte("null"), decoded: true}}}, nil
	}
}

// Describe says what a spec reads, for tiles and tables.
func (s ItemsSpec) Describe() string {
	switch {
	case s.File != "":
		return filepath.Base(s.File)
	case s.List != nil:
		return fmt.Sprintf("list of %d", len(s.List))
	case s.Range != nil:
		return fmt.Sprintf("range %d..%d", s.Range[0], s.Range[1])
	default:
		return "single item"
	}
}

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
func (s *sliceSource) Total() int64 { return int64(len(s.items)) }
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
	return Item{Raw: strconv.AppendInt(nil, n, 10), value: n, decoded: true, rawExact: true}, true
}
func (s *rangeSource) Err() error { return nil }
func (s *rangeSource) Total() int64 {
	return s.last - s.next + 1
}
func (s *rangeSource) Close() error { return nil }

func openFile(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open items: %s", describeFileErr(err))
	}
	name := filepath.Base(path)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return newCSVSource(f, name)
	case ".txt":
		return &lineSource{f: f, r: bufio.NewReaderSize(f, 256<<10), name: name, text: true}, nil
	default:
		return &lineSource{f: f, r: bufio.NewReaderSize(f, 256<<10), name: name}, nil
	}
}

// lineSource reads .jsonl (one JSON value a line) or .txt (one string a
// line) files, streaming, with a bounded line length.
type lineSource struct {
	f    *os.File
	r    *bufio.Reader
	name string
	text bool
	line int
	err  error
	buf  []byte
}

func (s *lineSource) Next() (Item, bool) {
	for {
		line, tooLong, err := s.readLine()
		if err != nil {
			if err != io.EOF {
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
		return Item{Raw: raw, File: s.name, Line: s.line}, true
	}
}

// readLine returns the next line without its newline. A line over MaxLine
// is cut and its rest skipped.
func (s *lineSource) readLine() (line []byte, tooLong bool, err error) {
	s.line++
	s.buf = s.buf[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
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
			return bytes.TrimRight(s.buf, "\r\n"), tooLong, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(s.buf) == 0 {
				return nil, false, io.EOF
			}
			return bytes.TrimRight(s.buf, "\r\n"), tooLong, nil
		default:
			return nil, false, err
		}
	}
}

func (s *lineSource) Err() error   { return s.err }
func (s *lineSource) Total() int64 { return -1 }
func (s *lineSource) Close() error { return s.f.Close() }

// csvSource reads a CSV file whose header row names the fields.
type csvSource struct {
	f      *os.File
	r      *csv.Reader
	name   string
	header []string
	err    error
}

func newCSVSource(f *os.File, name string) (Source, error) {
	r := csv.NewReader(bufio.NewReaderSize(f, 256<<10))
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return &csvSource{f: f, r: r, name: name}, nil
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s:1: header row: %w", name, err)
	}
	return &csvSource{f: f, r: r, name: name, header: append([]string(nil), header...)}, nil
}

func (s *csvSource) Next() (Item, bool) {
	if s.header == nil {
		return Item{}, false
	}
	rec, err := s.r.Read()
	if err == io.EOF {
		return Item{}, false
	}
	line, _ := s.r.FieldPos(0)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			where := s.name + ":" + strconv.Itoa(pe.Line)
			return Item{Raw: jsonString(strings.Join(rec, ",")), File: s.name, Line: pe.Line, Err: fmt.Errorf("%s: %v", where, pe.Err)}, true
		}
		s.err = fmt.Errorf("read %s: %w", s.name, err)
		return Item{}, false
	}
	m := make(map[string]any, len(s.header))
	var b bytes.Buffer
	b.WriteByte('{')
	for i, h := range s.header {
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
	return Item{Raw: b.Bytes(), File: s.name, Line: line, value: m, decoded: true}, true
}

func (s *csvSource) Err() error   { return s.err }
func (s *csvSource) Total() int64 { return -1 }
func (s *csvSource) Close() error { return s.f.Close() }

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
