package source

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// A report keeps a rejected item as a JSON value, for people and for
// templates. JSON cannot always say an item exactly: encoding/json
// compacts a JSONL line's spacing and escapes <, > and &, and replaces
// bytes that are not UTF-8 in a text line or a CSV field. A retry must
// write what a clean run writes, so such an item also keeps its exact
// form (Lossless), and Reviver turns it back into the item it was.

// Lossless returns the item's exact form when its JSON (Raw, as a report
// encodes it) would not give the same item back, else nil: a JSONL
// line's bytes, a text line's bytes, or a CSV record encoded as CSV.
func (it *Item) Lossless() []byte {
	switch v := it.value; {
	case it.jsonText:
		// A JSONL line or a SQL row: Raw is the line itself. JSON that is
		// not UTF-8 is shown as UTF-8 (ShownJSON), so it has an exact form.
		if !utf8.Valid(it.Raw) {
			return bytes.Clone(it.Raw)
		}
		if enc, err := json.Marshal(json.RawMessage(it.Raw)); err == nil && bytes.Equal(enc, it.Raw) {
			return nil
		}
		return bytes.Clone(it.Raw)
	case isString(v):
		if s := v.(string); !utf8.ValidString(s) {
			return []byte(s)
		}
	case it.header != nil:
		m := v.(map[string]any)
		rec := make([]string, len(it.header))
		lossy := false
		for i, h := range it.header {
			rec[i], _ = m[h].(string)
			lossy = lossy || !utf8.ValidString(rec[i])
		}
		if lossy {
			var b bytes.Buffer
			w := csv.NewWriter(&b)
			w.Write(rec)
			w.Flush()
			return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
		}
	}
	return nil
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// Reviver turns a report's record of an item (its JSON, its exact form
// when it has one, and where it came from) back into the item.
type Reviver struct {
	// rangeItems says the items are a range's: each an int64, as the
	// source yields them, not the json.Number their JSON decodes to.
	rangeItems bool
	// list is a list's items, by their JSON (see listItem).
	list   []any
	byJSON map[string]any
	format string
	header []string
	// stream is the source a stream's CSV header comes from (see Follow).
	stream *csvSource
}

// NewReviver makes the reviver for spec's items. A CSV file's header is
// read from the file once; a stream's cannot be, see Follow.
func NewReviver(spec Spec) (*Reviver, error) {
	r := &Reviver{}
	switch s := spec.(type) {
	case RangeSpec:
		r.rangeItems = true
	case ListSpec:
		r.list = s.Items
		if r.list == nil {
			r.list = []any{}
		}
	case FileSpec:
		return r, r.fileFormat(s)
	}
	return r, nil
}

// fileFormat reads what reviving a file's items takes: its format, and a
// CSV file's header, read from the file once; a stream's cannot be, see
// Follow.
func (r *Reviver) fileFormat(spec FileSpec) error {
	r.format = spec.format()
	if r.format != FormatCSV {
		return nil
	}
	if k, err := spec.kind(); err != nil || k == KindStream {
		return err
	}
	src, err := Open(spec, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	if cs, ok := src.(*csvSource); ok {
		r.header = cs.header
	}
	return nil
}

// Follow takes the CSV header of a stream from src, the run's one reading
// of it, once src has read it: a stream cannot be opened again to read
// its header. Call it before src is read.
func (r *Reviver) Follow(src Source) {
	if cs, ok := src.(*csvSource); ok && r.header == nil && cs.kind == KindStream {
		r.stream = cs
	}
}

// Item is the item a report recorded. exact is its exact form, or nil.
func (r *Reviver) Item(raw json.RawMessage, exact []byte, where string) (Item, error) {
	switch {
	case r.rangeItems:
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return rangeItem(n), nil
		}
	case r.list != nil:
		if v, ok := r.listItem(raw); ok {
			return Item{Raw: raw, File: where, value: v, decoded: true}, nil
		}
	}
	if exact == nil {
		return FromJSON(raw, where), nil
	}
	switch r.format {
	case FormatText:
		s := string(exact)
		return Item{Raw: jsonString(s), File: where, value: s, decoded: true}, nil
	case FormatCSV:
		header := r.header
		if header == nil && r.stream != nil {
			// Set before the stream yielded the item being revived.
			header = r.stream.header
		}
		if header == nil {
			return Item{}, fmt.Errorf("the exact form of the item at %s cannot be rebuilt: the CSV header of its stream was not read in this run", where)
		}
		cr := csv.NewReader(bytes.NewReader(exact))
		cr.FieldsPerRecord = len(header)
		rec, err := cr.Read()
		if err != nil {
			return Item{}, fmt.Errorf("the exact form of the item at %s is not a CSV record: %w", where, err)
		}
		it := csvItem(header, rec)
		it.File = where
		return it, nil
	default:
		if !validJSON(exact) {
			return Item{}, fmt.Errorf("the exact form of the item at %s is not JSON", where)
		}
		return FromJSON(exact, where), nil
	}
}

// listItem is the list's item whose JSON is raw, as the config holds it
// (TOML's int64 and float64, which JSON alone cannot tell apart: 1.0 and
// 1 are both 1). Of items with the same JSON the first is taken. An item
// no longer in the list decodes from its JSON.
func (r *Reviver) listItem(raw []byte) (any, bool) {
	if r.byJSON == nil {
		r.byJSON = make(map[string]any, len(r.list))
		for _, v := range r.list {
			b, _ := json.Marshal(v)
			if _, dup := r.byJSON[string(b)]; !dup {
				r.byJSON[string(b)] = v
			}
		}
	}
	v, ok := r.byJSON[string(CompactJSON(raw))]
	return v, ok
}

// CompactJSON is raw without insignificant space, as json.Marshal writes
// it (a report written by hand may add some); raw itself when it is not
// one JSON value, or has no space to take out. Reports, the monitor and
// revived items compact through it.
func CompactJSON(raw []byte) []byte {
	if !bytes.ContainsAny(raw, " \t\n\r") {
		return raw
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil || b.Len() == 0 {
		return raw
	}
	return b.Bytes()
}
