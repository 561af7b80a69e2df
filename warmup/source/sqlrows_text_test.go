package source

import (
	"bytes"
	"testing"
)

// A text column's JSON is the same bytes whichever way it is made: the
// row's JSON is the item's identity (journal, report, retries) and the
// value written without a value template.
func FuzzAppendJSONText(f *testing.F) {
	for _, s := range []string{"", "plain text 123", `q"b\s`, "<a&b>", "tab\tnl\n", "é ✓", "\u2028", "\x7f", "\xff\xfe", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := appendJSONKeepingBytes([]byte("x"), s)
		if got := appendJSONText([]byte("x"), s); !bytes.Equal(got, want) {
			t.Fatalf("%q: string %q, want %q", s, got, want)
		}
		if got := appendJSONText([]byte("x"), []byte(s)); !bytes.Equal(got, want) {
			t.Fatalf("%q: bytes %q, want %q", s, got, want)
		}
	})
}
