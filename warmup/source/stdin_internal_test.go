package source

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Standard input under another name is standard input: the names of it,
// and any path (a symlink, /proc/…/fd/N) that leads to the pipe the
// process reads; another pipe, or a regular file, is not.
func TestNamesStdin(t *testing.T) {
	stdin, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	defer w.Close()
	other, ow, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	defer ow.Close()
	fd := func(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }
	if _, err := os.Stat(fd(stdin)); err != nil {
		t.Skipf("no /proc/self/fd here: %v", err)
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "items")
	if err := os.Symlink(fd(stdin), link); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(dir, "items.jsonl")
	if err := os.WriteFile(regular, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/dev/stdin", true},
		{"/dev/./stdin", true},
		{"/proc/thread-self/fd/0", true},
		{fd(stdin), true},
		{link, true},
		{fd(other), false},
		{regular, false},
		{filepath.Join(dir, "missing"), false},
	} {
		if got := namesStdin(tc.path, stdin); got != tc.want {
			t.Errorf("namesStdin(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}
