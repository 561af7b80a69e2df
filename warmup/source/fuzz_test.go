package source

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzJSONLSource: any file reads to the end without panicking; every
// non-blank line (a byte order mark at the start is not part of line 1)
// becomes exactly one item or one rejection with its file:line.
func FuzzJSONLSource(f *testing.F) {
	f.Add([]byte("{\"id\":1}\n{bad\n\n[1]\n"))
	f.Add([]byte("\"x\"\r\n  \n{\"a\":{\"b\":[1,2,{}]}}"))
	f.Add([]byte{0xff, '\n', '{', '}'})
	f.Add([]byte(bom + "\n" + bom + "{}\n{\"a\":1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := Open(FileSpec{File: path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		n := 0
		for {
			it, ok := src.Next()
			if !ok {
				break
			}
			n++
			if it.Err != nil {
				if !strings.HasPrefix(it.Err.Error(), "f.jsonl:") {
					t.Fatalf("rejection without file:line: %v", it.Err)
				}
				continue
			}
			if _, err := it.Value(); err != nil {
				t.Fatalf("item passed validation but does not decode: %q: %v", it.Raw, err)
			}
		}
		want := 0
		for _, line := range bytes.Split(bytes.TrimPrefix(data, []byte(bom)), []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				want++
			}
		}
		if n != want {
			t.Fatalf("%d items from %d non-blank lines", n, want)
		}
	})
}

// FuzzValidJSON: validJSON accepts exactly what encoding/json.Valid
// accepts, so a faster validator never lets a malformed line through or
// rejects a good one.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"name":"item-1","price":1.37,"tags":["a","b"]}`, `"str"`, `42`, `-0.5e+7`, `null`, `true`,
		`01`, `1.`, `.5`, `1e`, `-`, `+1`, `NaN`, `"\u00e9"`, `"\ud800"`, "\"\xff\"", "\"a\tb\"", `"\x"`,
		`{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":1}x`, ` [ ] `, "\ufeff{}", `[[[[[[[[[[]]]]]]]]]]`,
		`{"a":{"b":[1,{"c":"}"}]}}`, `1 2`, ``, ` `, `"` + strings.Repeat("x", 300) + `"`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json.Valid = %v", b, got, want)
		}
	})
}
