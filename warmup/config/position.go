package config

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// maxPathDepth bounds how deep keys are recorded. Real configs nest four
// levels (loader[1].fetch.headers.Accept); without a bound, deeply nested
// inline tables or long dotted keys would cost time and memory quadratic
// in the file's size. Deeper keys get their nearest recorded parent's
// line, or none.
const maxPathDepth = 16

// positions says where each key of a config file is written. It is built
// from the TOML parser's own byte ranges, so tables, [[array tables]],
// [loader.fetch] after [[loader]], inline tables and dotted keys all name
// the same full path: loader[1].fetch.headers.Accept.
type positions struct {
	// lines maps a full path, and every path above it, to the line where
	// it first appears.
	lines map[string]int
	// spans are the byte ranges of key-values and table headers, sorted
	// by start. They nest, so the last one starting at or before an
	// offset that also spans it is the innermost.
	spans []span
	// newlines holds the offset of every '\n', to turn offsets into lines.
	newlines []int
}

// span is the bytes [start, end) that write path.
type span struct {
	start, end int
	path       string
}

// parsePositions maps the keys of data. It never fails: a document the
// parser stops on is mapped up to the expression it stops at, which is
// named when its key can be read.
func parsePositions(data []byte) (pos *positions) {
	pos = &positions{lines: map[string]int{}}
	for i, c := range data {
		if c == '\n' {
			pos.newlines = append(pos.newlines, i)
		}
	}
	defer func() {
		// The parser is go-toml's unstable API: should it trip over a
		// document, errors lose their lines, not the user their run.
		if recover() != nil {
			pos.lines, pos.spans = map[string]int{}, nil
		}
	}()
	var p unstable.Parser
	p.Reset(data)
	// scope is the table the key-values that follow belong to; ok is
	// false under a header too deep to record.
	scope, ok := "", true
	// arrays counts the elements of each array of tables so far, by the
	// full path of the array.
	arrays := map[string]int{}
	end := 0
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			var keys []string
			var r span
			keys, r, ok = keyParts(e.Key())
			if !ok {
				continue
			}
			line := pos.lineAt(r.start)
			written, full := "", ""
			for i, k := range keys {
				written = joinPath(full, k)
				full = written
				if i == len(keys)-1 && e.Kind == unstable.ArrayTable {
					arrays[full]++
					pos.note(full, line)
				}
				if n := arrays[full]; n > 0 {
					full = fmt.Sprintf("%s[%d]", full, n)
				}
				pos.note(full, line)
			}
			scope = full
			pos.spans = append(pos.spans, span{start: r.start, end: r.end, path: written})
			end = r.end
		case unstable.KeyValue:
			if ok {
				pos.keyValue(scope, e, strings.Count(scope, ".")+1)
			}
			end = int(e.Raw.Offset + e.Raw.Length)
		}
	}
	if p.Error() != nil && ok {
		pos.failed(data, scope, end)
	}
	return pos
}

// keyParts returns the parts of a (dotted) key and the bytes it spans;
// ok is false for a key of more than maxPathDepth parts.
func keyParts(it unstable.Iterator) (parts []string, r span, ok bool) {
	r.start = -1
	for it.Next() {
		k := it.Node()
		if len(parts) == maxPathDepth {
			return nil, r, false
		}
		parts = append(parts, string(k.Data))
		if r.start < 0 {
			r.start = int(k.Raw.Offset)
		}
		r.end = int(k.Raw.Offset + k.Raw.Length)
	}
	return parts, r, true
}

// keyValue records a key-value under scope and, for inline tables and
// arrays of them, the keys inside its value.
func (pos *positions) keyValue(scope string, kv *unstable.Node, depth int) {
	keys, _, ok := keyParts(kv.Key())
	if !ok {
		return
	}
	start := int(kv.Raw.Offset)
	path := pos.keyPath(scope, keys, pos.lineAt(start))
	pos.spans = append(pos.spans, span{start: start, end: start + int(kv.Raw.Length), path: path})
	pos.value(path, kv.Value(), depth+len(keys))
}

// keyPath joins keys to scope, noting the line of each path on the way.
func (pos *positions) keyPath(scope string, keys []string, line int) string {
	path := scope
	for _, k := range keys {
		path = joinPath(path, k)
		pos.note(path, line)
	}
	return path
}

// value records the keys inside an inline table or an array of them.
// Array elements are numbered from 1, as [[array tables]] are.
func (pos *positions) value(path string, v *unstable.Node, depth int) {
	if depth > maxPathDepth {
		return
	}
	switch v.Kind {
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				pos.keyValue(path, c, depth)
			}
		}
	case unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			i++
			if c.Kind == unstable.InlineTable || c.Kind == unstable.Array {
				el := fmt.Sprintf("%s[%d]", path, i)
				pos.note(el, pos.lineAt(int(c.Raw.Offset)))
				pos.value(el, c, depth+1)
			}
		}
	}
}

// failed names the expression the parser stopped at: the bytes from the
// end of the last good one, skipping blanks and comments, to the end of
// the file. Its key is read by parsing what comes before each '=' of its
// first line, with a value put after it, until that parses; a table
// header that does not parse has no key to name.
func (pos *positions) failed(data []byte, scope string, end int) {
	s := skipFiller(data, end)
	if s >= len(data) || data[s] == '[' {
		return
	}
	line := data[s:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	tries := 0
	for i, c := range line {
		if c != '=' {
			continue
		}
		// A quoted key may hold '='; a line of nothing else is not a key.
		if tries++; tries > maxPathDepth {
			return
		}
		var p unstable.Parser
		p.Reset(append(slices.Clip(line[:i]), "= 0"...))
		if !p.NextExpression() || p.Expression().Kind != unstable.KeyValue {
			continue
		}
		keys, _, ok := keyParts(p.Expression().Key())
		if ok {
			path := pos.keyPath(scope, keys, pos.lineAt(s))
			pos.spans = append(pos.spans, span{start: s, end: len(data), path: path})
		}
		return
	}
}

// skipFiller skips what may lie between two expressions: blanks, line
// ends, comments and the closing brackets of a table header.
func skipFiller(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n', ']':
			i++
		case '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		default:
			return i
		}
	}
	return i
}

// note records path at line unless it was seen earlier.
func (pos *positions) note(path string, line int) {
	if _, ok := pos.lines[path]; !ok {
		pos.lines[path] = line
	}
}

// line returns the line of path, or of the nearest path above it that
// the file writes (loader[1] for a missing loader[1].key), or 0.
func (pos *positions) line(path string) int {
	for range maxPathDepth + 1 {
		if n, ok := pos.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

// at returns the path written at row and column (both from 1): the
// innermost key-value or table header that spans it, or "".
func (pos *positions) at(row, col int) string {
	off := col - 1
	if row > 1 {
		if row-2 >= len(pos.newlines) {
			return ""
		}
		off += pos.newlines[row-2] + 1
	}
	i := sort.Search(len(pos.spans), func(i int) bool { return pos.spans[i].start > off })
	for i--; i >= 0; i-- {
		if s := pos.spans[i]; s.start <= off && off < s.end {
			return s.path
		}
	}
	return ""
}

// lineAt returns the line (from 1) of a byte offset.
func (pos *positions) lineAt(off int) int {
	return sort.SearchInts(pos.newlines, off) + 1
}

// topLevel returns the names of the file's top-level keys and tables.
func (pos *positions) topLevel() map[string]bool {
	names := map[string]bool{}
	for _, s := range pos.spans {
		names[topName(s.path)] = true
	}
	return names
}

// topName is the first part of a path: loader for loader[2].ttl.
func topName(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}
