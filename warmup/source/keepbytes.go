package source

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Keys keep their bytes: a JSONL string, a CSV field, a text line or a
// SQL column that is not UTF-8 is written as the bytes it is (Redis keys
// and values are binary safe). encoding/json replaces such bytes with
// U+FFFD, which made distinct items share a key, so an item whose JSON
// is not UTF-8 is decoded here instead; a report shows it as UTF-8 JSON
// and keeps its bytes in its exact form (see Lossless).

// decodeKeepingBytes decodes raw, which must be valid JSON, into the
// values encoding/json with UseNumber gives (FuzzDecodeKeepingBytes
// checks that), except that a string's bytes that are not UTF-8 are kept
// as they are.
func decodeKeepingBytes(raw []byte) any {
	d := keepDecoder{b: raw}
	return d.value()
}

type keepDecoder struct {
	b []byte
	i int
}

func (d *keepDecoder) space() {
	for d.i < len(d.b) && (d.b[d.i] == ' ' || d.b[d.i] == '\t' || d.b[d.i] == '\n' || d.b[d.i] == '\r') {
		d.i++
	}
}

func (d *keepDecoder) value() any {
	d.space()
	switch d.b[d.i] {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case '"':
		return d.str()
	case 't':
		d.i += len("true")
		return true
	case 'f':
		d.i += len("false")
		return false
	case 'n':
		d.i += len("null")
		return nil
	}
	start := d.i
	for d.i < len(d.b) && isNumberByte(d.b[d.i]) {
		d.i++
	}
	return json.Number(d.b[start:d.i])
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (d *keepDecoder) object() map[string]any {
	m := map[string]any{}
	d.i++ // {
	for {
		d.space()
		if d.b[d.i] == '}' {
			d.i++
			return m
		}
		if d.b[d.i] == ',' {
			d.i++
			d.space()
		}
		k := d.str()
		d.space()
		d.i++ // :
		m[k] = d.value()
		d.space()
	}
}

func (d *keepDecoder) array() []any {
	a := []any{}
	d.i++ // [
	for {
		d.space()
		switch d.b[d.i] {
		case ']':
			d.i++
			return a
		case ',':
			d.i++
			continue
		}
		a = append(a, d.value())
	}
}

// str reads the string at d.i, unescaping as encoding/json does, and
// keeping bytes that are not UTF-8.
func (d *keepDecoder) str() string {
	d.i++ // opening quote
	start := d.i
	for d.b[d.i] != '"' && d.b[d.i] != '\\' {
		d.i++
	}
	if d.b[d.i] == '"' {
		d.i++
		return string(d.b[start : d.i-1])
	}
	out := append([]byte(nil), d.b[start:d.i]...)
	for {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return string(out)
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		d.i++
		switch e := d.b[d.i]; e {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			out = d.appendEscapedRune(out)
			continue
		default: // " \ /
			out = append(out, e)
		}
		d.i++
	}
}

// appendEscapedRune appends the rune of the \uXXXX escape at d.i (its
// 'u'), pairing surrogates, an unpaired one being U+FFFD, as
// encoding/json does.
func (d *keepDecoder) appendEscapedRune(out []byte) []byte {
	r := d.hex4(d.i + 1)
	d.i += 5
	if utf16.IsSurrogate(r) {
		if d.i+6 <= len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
			if dec := utf16.DecodeRune(r, d.hex4(d.i+2)); dec != utf8.RuneError {
				d.i += 6
				return utf8.AppendRune(out, dec)
			}
		}
		r = utf8.RuneError
	}
	return utf8.AppendRune(out, r)
}

func (d *keepDecoder) hex4(at int) rune {
	if at+4 > len(d.b) {
		return -1
	}
	n, err := strconv.ParseUint(string(d.b[at:at+4]), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}

// appendJSONKeepingBytes appends s as a JSON string: as encoding/json
// writes it when s is UTF-8, else with its bytes that are not UTF-8 kept
// (the JSON is then valid but not UTF-8; its item has an exact form).
func appendJSONKeepingBytes(buf []byte, s string) []byte {
	if utf8.ValidString(s) {
		return append(buf, jsonString(s)...)
	}
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}

// ShownJSON is raw, an item's JSON, as a report and --json show it: UTF-8,
// each byte that is not replaced by U+FFFD as encoding/json would, raw
// itself when it is UTF-8 already. The item's exact form keeps the bytes.
func ShownJSON(raw []byte) []byte {
	if utf8.Valid(raw) {
		return raw
	}
	out := make([]byte, 0, len(raw)+8)
	for i := 0; i < len(raw); {
		r, n := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, raw[i:i+n]...)
		}
		i += n
	}
	return out
}
