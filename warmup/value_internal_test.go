package warmup

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// A hash's fields are the object's members in order: strings as their
// text, other values as compact JSON, nulls left out; anything but an
// object with a field that is not null says what it is instead.
func TestHashFields(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{in: `{"a":"x","b":1}`, want: []string{"a", "x", "b", "1"}},
		{in: " \n{ \"a\" : \"x\" ,\n \"n\" : -1.50e3 , \"t\":true,\"f\":false } \n", want: []string{"a", "x", "n", "-1.50e3", "t", "true", "f", "false"}},
		{in: `{"o":{"k":[1, 2, {"q":"}]\""}]},"s":"a\"b\\c\u00e9"}`, want: []string{"o", `{"k":[1,2,{"q":"}]\""}]}`, "s", "a\"b\\cé"}},
		{in: `{"k\u0041":"v","gone":null,"":"empty name"}`, want: []string{"kA", "v", "", "empty name"}},
		{in: `{"a":"1","a":"2"}`, want: []string{"a", "1", "a", "2"}},
		{in: `{"a":[]}`, want: []string{"a", "[]"}},
		{in: `{}`, err: "the JSON object has no field that is not null"},
		{in: `{"a":null}`, err: "the JSON object has no field that is not null"},
		{in: `[1,2]`, err: "the value is not a JSON object (it is an array)"},
		{in: `"text"`, err: "(it is a string)"},
		{in: `12`, err: "(it is a number)"},
		{in: `null`, err: "(it is null)"},
		{in: `true`, err: "(it is a boolean)"},
		{in: ``, err: "(it is empty)"},
		{in: `{"a":1} {"b":2}`, err: "(it is not JSON)"},
		{in: `{"a":1`, err: "(it is not JSON)"},
		{in: `<html>`, err: "(it is not JSON)"},
	}
	for _, tc := range tests {
		got, err := hashFields([]byte(tc.in))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: %v, %v; want error %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || !slices.Equal(got, tc.want)):
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// hashFields agrees with encoding/json on every input: the same fields
// (the last of a name wins, as in HSET), the same values, and an error
// exactly when the value is not an object with a field that is not null.
// The walk must also never panic, whatever the input.
func FuzzHashFields(f *testing.F) {
	for _, s := range []string{`{"a":"x","b":[1,{"c":"}"}]}`, ` { "k" : null , "e":"\u00e9\"" } `, `[1]`, `{}`, `{"a":1e5,"b":-0.0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := hashFields(in)
		if !utf8.Valid(in) {
			// encoding/json would replace what is not UTF-8; a hash keeps
			// the bytes, as a string value does.
			return
		}
		var ref map[string]json.RawMessage
		refErr := json.Unmarshal(in, &ref)
		want := map[string]string{}
		for k, raw := range ref {
			switch {
			case string(raw) == "null":
			case raw[0] == '"':
				var s string
				_ = json.Unmarshal(raw, &s)
				want[k] = s
			default:
				var b bytes.Buffer
				_ = json.Compact(&b, raw)
				want[k] = b.String()
			}
		}
		if refErr != nil || ref == nil || len(want) == 0 {
			if err == nil {
				t.Fatalf("%q: %q, want an error", in, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		fields := map[string]string{}
		for i := 0; i < len(got); i += 2 {
			fields[got[i]] = got[i+1]
		}
		if !maps.Equal(fields, want) {
			t.Fatalf("%q: %q, want %q", in, fields, want)
		}
	})
}
