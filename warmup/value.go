package warmup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// shape turns what x holds (its fetched body, or the item) into what is
// written: the value template's output, and for a hash loader the JSON
// object's fields. It runs once per value, not once per attempt; it
// rejects x at the value stage and returns false when that fails.
func (e *Engine) shape(x *item) bool {
	lr := x.lr
	if lr.cfg.Value != nil {
		out, err := renderValue(lr.cfg.Value, &x.src, x.value, x.fetched && lr.readsBody)
		if err != nil {
			var se *sourceErr
			if errors.As(err, &se) {
				e.reject(x, atSource(&x.src, withWhere(&x.src, se.err.Error())))
			} else {
				e.reject(x, failure(StageValue, "value template for "+x.key, err.Error()))
			}
			return false
		}
		x.value = out
	}
	if lr.cfg.Type == config.TypeHash {
		fields, err := hashFields(x.value)
		if err != nil {
			e.reject(x, failure(StageValue, "hash "+x.key, err.Error()))
			return false
		}
		// The fields hold their own copy: the value is done with.
		x.fields, x.value = fields, nil
	}
	return true
}

// sourceErr is an item that does not decode, found while rendering its
// value: the source's failure, not the template's.
type sourceErr struct{ err error }

func (e *sourceErr) Error() string { return e.err.Error() }

// renderValue renders a value template over {item, body}: from the
// item's raw JSON when the template's compiled form is sure of the result
// (decoding only the fields it reads), else over the decoded item with
// text/template. The body is decoded only when the template may read it
// (withBody).
func renderValue(t *config.Template, it *source.Item, body []byte, withBody bool) ([]byte, error) {
	if it.Exact() {
		if out, ok := t.RenderValue(it.Raw, body, withBody, nil); ok {
			if out == nil {
				out = []byte{} // an empty value, as the text/template path gives
			}
			return out, nil
		}
	}
	v, err := it.Value()
	if err != nil {
		return nil, &sourceErr{err}
	}
	var b strings.Builder
	s, err := t.ExecuteValue(v, body, withBody, &b)
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// hashFields reads a value that must be a JSON object into HSET's field
// and value pairs, in the object's order: strings as they are, numbers,
// booleans, objects and arrays as their (compact) JSON text. A null field
// is left out: Redis has no null, and an absent field reads as nil.
//
// Once json.Valid has said the value is JSON, its members are found by
// walking the bytes: a json.Decoder's Token costs several times as much,
// and a bulk load of hashes spends its CPU here.
func hashFields(value []byte) ([]string, error) {
	if !json.Valid(value) {
		return nil, errors.New(notObject(value))
	}
	b := bytes.TrimSpace(value)
	if b[0] != '{' {
		return nil, errors.New(notObject(value))
	}
	var fields []string
	i := skipSpace(b, 1)
	for b[i] != '}' {
		end := skipValue(b, i)
		name, err := jsonString(b[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the ':'
		end = skipValue(b, i)
		raw := b[i:end]
		switch raw[0] {
		case 'n':
			// null: left out.
		case '"':
			s, err := jsonString(raw)
			if err != nil {
				return nil, err
			}
			fields = append(fields, name, s)
		default:
			fields = append(fields, name, compact(raw))
		}
		i = skipSpace(b, end)
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	if len(fields) == 0 {
		return nil, errors.New("the JSON object has no field that is not null, and Redis has no empty hash")
	}
	return fields, nil
}

// skipSpace returns the index of the first byte at or after i that is
// not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value that starts at i
// in b, which is valid JSON: a string ends at its unescaped quote, an
// object or array at its matching bracket, anything else at the next
// delimiter.
func skipValue(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			for j++; b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if depth == 0 {
				return j + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j
			}
			depth--
			if depth == 0 {
				return j + 1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return j
			}
		}
	}
	return len(b)
}

// jsonString is the text of a valid JSON string literal.
func jsonString(raw []byte) (string, error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("invalid JSON string: %w", err)
	}
	return s, nil
}

// compact is a valid JSON value without insignificant whitespace.
func compact(raw []byte) string {
	if !bytes.ContainsAny(raw, " \t\n\r") {
		return string(raw)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// notObject says what a hash's value is instead of a JSON object.
func notObject(value []byte) string {
	const want = "the value is not a JSON object"
	trimmed := bytes.TrimSpace(value)
	if len(trimmed) == 0 {
		return want + " (it is empty)"
	}
	var v any
	if json.Unmarshal(trimmed, &v) != nil {
		return want + " (it is not JSON)"
	}
	switch v.(type) {
	case []any:
		return want + " (it is an array)"
	case string:
		return want + " (it is a string)"
	case float64:
		return want + " (it is a number)"
	case bool:
		return want + " (it is a boolean)"
	case nil:
		return want + " (it is null)"
	}
	return want + " (it is not valid JSON)"
}
