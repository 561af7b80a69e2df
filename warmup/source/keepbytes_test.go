package source

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeKeepingBytes: on UTF-8 JSON the decoder that keeps bytes gives
// exactly what encoding/json with UseNumber gives; on any JSON, its
// strings shown as encoding/json shows them are encoding/json's.
func FuzzDecodeKeepingBytes(f *testing.F) {
	f.Add([]byte(`{"a":[1,-2.5e3,"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x"],"b":{},"c":[],"d":null,"e":true,"f":false}`))
	f.Add([]byte("{\"id\":\"\xffab\",\"id\":\"\\u0041\xfe\"}"))
	f.Add([]byte(` [ 1 , { "k" : "v" } ] `))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		got := decodeKeepingBytes(raw)
		if !utf8.Valid(raw) {
			got = replaceInvalid(got)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded %#v, encoding/json %#v", raw, got, want)
		}
	})
}

// replaceInvalid replaces each byte of v's strings that is not UTF-8 by
// U+FFFD, as encoding/json does.
func replaceInvalid(v any) any {
	switch x := v.(type) {
	case string:
		return string(ShownJSON([]byte(x)))
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[string(ShownJSON([]byte(k)))] = replaceInvalid(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = replaceInvalid(e)
		}
	}
	return v
}

// Items whose bytes are not UTF-8 keep them, from every source that can
// hold them: two ids that differ only there stay two ids.
func TestItemsKeepBytesThatAreNotUTF8(t *testing.T) {
	for _, raw := range []string{"{\"id\":\"\xffab\"}", "\"\xfeab\"", "{\"id\":\"\\n\xff\"}"} {
		it := FromJSON([]byte(raw), "")
		v, err := it.Value()
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := v.(map[string]any); ok {
			v = m["id"]
		}
		s, _ := v.(string)
		if !bytes.Contains([]byte(raw), []byte(s[len(s)-1:])) || utf8.ValidString(s) {
			t.Fatalf("%q decoded to %q: its bytes were replaced", raw, s)
		}
	}
	var buf []byte
	buf = appendJSONKeepingBytes(buf, "a\"\\\x01\xffb")
	if got := decodeKeepingBytes(buf); got != "a\"\\\x01\xffb" {
		t.Fatalf("a SQL string kept as %q, decodes back to %q", buf, got)
	}
	if shown := ShownJSON(buf); !utf8.Valid(shown) || !json.Valid(shown) {
		t.Fatalf("shown JSON %q is not UTF-8 JSON", shown)
	}
}
