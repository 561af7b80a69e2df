package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// allForms writes keys in every form TOML has; the comments give the
// lines the paths below expect.
const allForms = `[redis]
url = "redis://h:1"                               # 2
run.retries = 1                                   # 3: redis.run.retries

[[loader]]                                        # 5
name = "a"
items = { list = ["x"], sql = "q" }               # 7
fetch.url = "http://x"                            # 8
fetch.headers.Accept = "*/*"                      # 9

[[loader]]                                        # 11
name = "b"

[loader.fetch]                                    # 14
url = "http://y"                                  # 15
[loader.fetch.headers]                            # 16
"X-Token" = "t"                                   # 17

[[loader.extra]]                                  # 19
k = 1                                             # 20
[[loader.extra]]                                  # 21
k = 2                                             # 22

[origin]
hot = { "/s/" = 0.5, "a.b" = 1 }                  # 25
nested = [
  { a = 1 },                                      # 27
  { a = 2, b = { c = 3 } },                       # 28
]
`

func TestPositionsLines(t *testing.T) {
	pos := parsePositions([]byte(allForms))
	tests := []struct {
		path string
		line int
	}{
		{"redis", 1},
		{"redis.url", 2},
		{"redis.run.retries", 3},
		{"loader", 5},
		{"loader[1]", 5},
		{"loader[1].items.sql", 7},
		{"loader[1].items.list[0]", 7}, // a list element is at its list
		{"loader[1].fetch", 8},
		{"loader[1].fetch.url", 8},
		{"loader[1].fetch.headers.Accept", 9},
		{"loader[2]", 11},
		{"loader[2].key", 11}, // not written: its table's line
		{"loader[2].fetch", 14},
		{"loader[2].fetch.url", 15},
		{"loader[2].fetch.headers", 16},
		{"loader[2].fetch.headers.X-Token", 17},
		{"loader[2].extra[1].k", 20},
		{"loader[2].extra[2]", 21},
		{"loader[2].extra[2].k", 22},
		{"origin.hot./s/", 25},
		{"origin.hot.a.b", 25},
		{"origin.nested[1].a", 27},
		{"origin.nested[2].b.c", 28},
		{"nowhere", 0},
		{"", 0},
	}
	for _, tc := range tests {
		if got := pos.line(tc.path); got != tc.line {
			t.Errorf("line(%q) = %d, want %d", tc.path, got, tc.line)
		}
	}
}

// Every key a real config holds has a line: the shipped config and a
// file with every form of key.
func TestPositionsCoverDecodedKeys(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join("..", "..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{"config.toml": string(shipped), "all forms": allForms} {
		t.Run(name, func(t *testing.T) {
			if missing := unplaced(t, doc); len(missing) > 0 {
				t.Fatalf("keys without a line: %v", missing)
			}
		})
	}
}

// FuzzPositions: mapping any text never panics, and every key of a
// document that decodes, short of the depth bound, has a line of its own.
func FuzzPositions(f *testing.F) {
	f.Add(allForms)
	f.Add("a = [[{b = 1}], [2]]\n")
	f.Add("[run\ntimeout = \"1s\"\n")
	f.Fuzz(func(t *testing.T, doc string) {
		var m map[string]any
		if toml.Unmarshal([]byte(doc), &m) != nil {
			parsePositions([]byte(doc))
			return
		}
		if missing := unplaced(t, doc); len(missing) > 0 {
			t.Fatalf("keys without a line: %v", missing)
		}
	})
}

// unplaced returns the full paths of the keys doc decodes to that its
// positions do not know.
func unplaced(t *testing.T, doc string) []string {
	t.Helper()
	var m map[string]any
	if err := toml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	pos := parsePositions([]byte(doc))
	var missing []string
	var walk func(path string, v any)
	visit := func(path string, v any) {
		if strings.Count(path, ".")+strings.Count(path, "[") > maxPathDepth/2 {
			return
		}
		if pos.lines[path] == 0 {
			missing = append(missing, path)
		}
		walk(path, v)
	}
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, el := range x {
				visit(joinPath(path, k), el)
			}
		case []any:
			for i, el := range x {
				switch el.(type) {
				case map[string]any, []any:
					visit(fmt.Sprintf("%s[%d]", path, i+1), el)
				}
			}
		}
	}
	walk("", m)
	return missing
}
