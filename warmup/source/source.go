package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	segjson "github.com/segmentio/encoding/json"
)

// validJSON reports whether b is one valid JSON value, exactly as
// encoding/json.Valid decides (FuzzValidJSON checks that), with
// segmentio/encoding's faster validator: validation is a large share of a
// bulk load's CPU (docs/performance.md has the figures).
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
