package source_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// drain reads a whole source: the items' JSON and the errors by position.
func drain(t *testing.T, spec source.Spec) (items []string, errs []string, total int64) {
	t.Helper()
	src, err := source.Open(spec, nil)
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
		"big.jsonl": "{\"id\":\"" + strings.Repeat("x", source.MaxLine) + "\"}\n{\"id\":9}\n",
	})
	f := func(name string) source.Spec { return source.FileSpec{File: filepath.Join(dir, name)} }
	tests := []struct {
		name  string
		spec  source.Spec
		items []string
		errs  []string // prefixes
		total int64
	}{
		{"list", source.ListSpec{Items: []any{"a", int64(2), 2.5}}, []string{`"a"`, "2", "2.5"}, nil, 3},
		{"empty list", source.ListSpec{Items: []any{}}, nil, nil, 0},
		{"range", source.RangeSpec{First: -1, Last: 2}, []string{"-1", "0", "1", "2"}, nil, 4},
		{"single", source.Single(), []string{"null"}, nil, 1},
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
		it := source.Item{Raw: []byte(tc.raw)}
		if got := string(it.StringValue()); got != tc.written {
			t.Errorf("%s written as %q, want %q", tc.raw, got, tc.written)
		}
	}
}

// writeFiles writes name → content under a new temp dir and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Stopping after any item and reopening at the resume point yields
// exactly the items not read yet, for every kind of source: what an
// interrupted run and its --retry-from read together is the whole source.
func TestResumeReadsExactlyTheRest(t *testing.T) {
	// A byte order mark is dropped only at the start: one that begins a
	// later line is data, read the same from a resume point.
	bomJSONL := bom + "{\"id\":1}\n" + bom + "{\"id\":2}\n\n[3]\n"
	bomCSV := bom + "id,name\n1,a\n2,\"multi\nline\"\n" + bom + "3,c\n4,d\n"
	dir := writeFiles(t, map[string]string{
		"a.jsonl":    "{\"id\":1}\n\n{\"id\":2}\r\n{bad\n\"x\"\n[3]",
		"b.txt":      "alpha\n\nbeta\ngamma\n",
		"c.csv":      "id,name\n1,a\n2,\"multi\nline\"\n3\n4,d\n",
		"d.jsonl":    bomJSONL,
		"e.csv":      bomCSV,
		"f.txt":      bom + "alpha\n" + bom + "beta\n",
		"g.jsonl.gz": gz(t, bomJSONL+"{bad\n\"x\""),
		"h.csv.gz":   gz(t, bomCSV),
	})
	specs := map[string]source.Spec{
		"jsonl":     source.FileSpec{File: filepath.Join(dir, "a.jsonl")},
		"txt":       source.FileSpec{File: filepath.Join(dir, "b.txt")},
		"csv":       source.FileSpec{File: filepath.Join(dir, "c.csv")},
		"bom jsonl": source.FileSpec{File: filepath.Join(dir, "d.jsonl")},
		"bom csv":   source.FileSpec{File: filepath.Join(dir, "e.csv")},
		"bom txt":   source.FileSpec{File: filepath.Join(dir, "f.txt")},
		"gz jsonl":  source.FileSpec{File: filepath.Join(dir, "g.jsonl.gz")},
		"gz csv":    source.FileSpec{File: filepath.Join(dir, "h.csv.gz")},
		"list":      source.ListSpec{Items: []any{"a", "b", int64(3)}},
		"range":     source.RangeSpec{First: 5, Last: 9},
		"one":       source.Single(),
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			all := readAll(t, spec, nil, -1)
			for stop := 0; stop <= len(all); stop++ {
				src, err := source.Open(spec, nil)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for range stop {
					it, _ := src.Next()
					got = append(got, describeItem(it))
				}
				at := src.Resume()
				src.Close()
				_, isFile := spec.(source.FileSpec)
				if at.Done != (stop == len(all) && !isFile) && !isFile {
					t.Errorf("after %d of %d: done=%v", stop, len(all), at.Done)
				}
				if !at.Done && at.Remaining >= 0 && at.Remaining != int64(len(all)-stop) {
					t.Errorf("after %d of %d: remaining %d", stop, len(all), at.Remaining)
				}
				got = append(got, readAll(t, spec, &at, -1)...)
				if strings.Join(got, "|") != strings.Join(all, "|") {
					t.Fatalf("stopped after %d at %+v:\n got %v\nwant %v", stop, at, got, all)
				}
			}
		})
	}
}

func TestResumeRefusesAChangedFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.jsonl": "{\"id\":1}\n{\"id\":2}\n"})
	spec := source.FileSpec{File: filepath.Join(dir, "a.jsonl")}
	for _, at := range []source.Resume{{Offset: 3, Line: 1}, {Offset: 400, Line: 9}} {
		if _, err := source.Open(spec, &at); err == nil || !strings.Contains(err.Error(), "changed since the report") {
			t.Errorf("resume at %+v: err %v", at, err)
		}
	}
}

func readAll(t *testing.T, spec source.Spec, from *source.Resume, n int) []string {
	t.Helper()
	src, err := source.Open(spec, from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []string
	for n != 0 {
		it, ok := src.Next()
		if !ok {
			break
		}
		out = append(out, describeItem(it))
		n--
	}
	if src.Err() != nil {
		t.Fatal(src.Err())
	}
	return out
}

func describeItem(it source.Item) string {
	if it.Err != nil {
		return "error " + it.Err.Error()
	}
	return it.Where() + " " + string(it.Raw)
}

// An item JSON cannot say exactly keeps its exact form through a
// report's JSON, and the reviver gives back the same item: the same Raw,
// value and written value as the source gave.
func TestLosslessThroughAReport(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.jsonl": "{\"id\":1, \"html\":\"<b>&amp;</b>\"}\n{\"id\":2}\n",
		"b.txt":   "bad\xff\xfebytes\nplain\n",
		"c.csv":   "id,name\n2,caf\xe9\n3,\"multi\nline \xff\"\n4,ok\n",
	})
	for _, name := range []string{"a.jsonl", "b.txt", "c.csv"} {
		spec := source.FileSpec{File: filepath.Join(dir, name)}
		rv, err := source.NewReviver(spec)
		if err != nil {
			t.Fatal(err)
		}
		src, err := source.Open(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		for {
			it, ok := src.Next()
			if !ok {
				break
			}
			// What a report keeps: the item as JSON (compacted, escaped,
			// not-UTF-8 replaced), and the exact form, as base64.
			var rec struct {
				Item  json.RawMessage `json:"item"`
				Exact []byte          `json:"exact,omitempty"`
			}
			b, _ := json.Marshal(struct {
				Item  json.RawMessage `json:"item"`
				Exact []byte          `json:"exact,omitempty"`
			}{it.Raw, it.Lossless()})
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			back, err := rv.Item(rec.Item, rec.Exact, it.Where())
			if err != nil {
				t.Fatal(err)
			}
			want, _ := it.Value()
			got, _ := back.Value()
			if string(back.StringValue()) != string(it.StringValue()) || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: item %q came back as %q (value %v, want %v)", name, it.StringValue(), back.StringValue(), got, want)
			}
		}
		src.Close()
	}
}
