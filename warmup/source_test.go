package warmup_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup"
)

// drain reads a whole source: the items' JSON and the errors by position.
func drain(t *testing.T, spec warmup.ItemsSpec) (items []string, errs []string, total int64) {
	t.Helper()
	src, err := warmup.OpenSource(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	total = src.Total()
	for {
		it, ok := src.Next()
		if !ok {
			break
		}
		if it.Err != nil {
			errs = append(errs, it.Err.Error())
			continue
		}
		items = append(items, string(it.Raw))
	}
	if src.Err() != nil {
		t.Fatal(src.Err())
	}
	return items, errs, total
}

func TestSources(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.jsonl":   "{\"id\":1}\n\n  {\"id\":2}  \r\n\"str\"\n{bad\n[1,2]\n",
		"b.txt":     "alpha\n\n beta \r\ngamma",
		"c.csv":     "id,name\n1,\"x, y\"\n2\n3,z\n",
		"e.jsonl":   "",
		"h.csv":     "",
		"big.jsonl": "{\"id\":\"" + strings.Repeat("x", warmup.MaxLine) + "\"}\n{\"id\":9}\n",
	})
	f := func(name string) warmup.ItemsSpec { return warmup.ItemsSpec{File: filepath.Join(dir, name)} }
	tests := []struct {
		name  string
		spec  warmup.ItemsSpec
		items []string
		errs  []string // prefixes
		total int64
	}{
		{"list", warmup.ItemsSpec{List: []any{"a", int64(2), 2.5}}, []string{`"a"`, "2", "2.5"}, nil, 3},
		{"empty list", warmup.ItemsSpec{List: []any{}}, nil, nil, 0},
		{"range", warmup.ItemsSpec{Range: &[2]int64{-1, 2}}, []string{"-1", "0", "1", "2"}, nil, 4},
		{"single", warmup.ItemsSpec{}, []string{"null"}, nil, 1},
		{"jsonl", f("a.jsonl"), []string{`{"id":1}`, `{"id":2}`, `"str"`, "[1,2]"}, []string{"a.jsonl:5: invalid JSON"}, -1},
		{"txt", f("b.txt"), []string{`"alpha"`, `"beta"`, `"gamma"`}, nil, -1},
		{"csv", f("c.csv"), []string{`{"id":"1","name":"x, y"}`, `{"id":"3","name":"z"}`}, []string{"c.csv:3: wrong number of fields"}, -1},
		{"empty jsonl", f("e.jsonl"), nil, nil, -1},
		{"empty csv", f("h.csv"), nil, nil, -1},
		{"line over 1 MiB", f("big.jsonl"), []string{`{"id":9}`}, []string{"big.jsonl:1: line longer than"}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, errs, total := drain(t, tc.spec)
			if strings.Join(items, " ") != strings.Join(tc.items, " ") {
				t.Errorf("items %v, want %v", items, tc.items)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors %v, want %v", errs, tc.errs)
			}
			for i := range errs {
				if !strings.HasPrefix(errs[i], tc.errs[i]) {
					t.Errorf("error %q, want prefix %q", errs[i], tc.errs[i])
				}
			}
			if total != tc.total {
				t.Errorf("total %d, want %d", total, tc.total)
			}
		})
	}
}

func TestItemValues(t *testing.T) {
	tests := []struct {
		raw, written string
	}{
		{`"plain text"`, "plain text"},
		{`{"b":1,"a":2}`, `{"b":1,"a":2}`},
		{`12345678901234567890`, `12345678901234567890`},
		{`"with \"quotes\""`, `with "quotes"`},
	}
	for _, tc := range tests {
		it := warmup.Item{Raw: []byte(tc.raw)}
		if got := string(it.StringValue()); got != tc.written {
			t.Errorf("%s written as %q, want %q", tc.raw, got, tc.written)
		}
	}
}
