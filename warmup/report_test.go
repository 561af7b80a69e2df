package warmup

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The streamed report is valid JSON and reads back as what was written.
func TestReportRoundTrip(t *testing.T) {
	reports := []*Report{
		{Loaders: []LoaderReport{}},
		{ReportTotals: ReportTotals{Fulfilled: 3, Rejected: 2, Interrupted: true, Redis: "redis://:***@h:1/0", Config: "c.toml",
			Started: time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC), Seconds: 1.5},
			Loaders: []LoaderReport{
				{LoaderTotals: LoaderTotals{Name: "a", Source: "list of 5", Fulfilled: 3, Rejected: 2, P50ms: 1.5}, RejectedItems: []Rejection{
					{Item: json.RawMessage(`{"id":1}`), Key: "a:1", Reason: "fetch GET x: 503", Attempts: 3, Stage: StageFetch},
					{Item: json.RawMessage(`"x\"y"`), Reason: "f.jsonl:2: invalid JSON", Stage: StageSource, Where: "f.jsonl:2"},
				}},
				{LoaderTotals: LoaderTotals{Name: "empty", Error: "read f: boom"}, RejectedItems: []Rejection{}},
			}},
	}
	for _, rep := range reports {
		var b bytes.Buffer
		if err := EncodeReport(&b, rep); err != nil {
			t.Fatal(err)
		}
		var got Report
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, b.String())
		}
		for i := range got.Loaders {
			if got.Loaders[i].RejectedItems == nil {
				t.Fatalf("rejected_items is null, want []:\n%s", b.String())
			}
		}
		want := *rep
		if len(want.Loaders) == 0 {
			want.Loaders = got.Loaders
		}
		if !reflect.DeepEqual(&got, &want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", got, want, b.String())
		}
	}
}

// A report written where a symbolic link is replaces the link: the file
// it points to (here, one the run must not touch) is left as it was.
func TestWriteReportReplacesLinks(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "precious.txt"), filepath.Join(dir, "link.json")
	if err := os.WriteFile(target, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("precious.txt", link); err != nil {
		t.Fatal(err)
	}
	if err := CheckReportPath(link); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(link, &Report{ReportTotals: ReportTotals{Fulfilled: 7}, Loaders: []LoaderReport{}}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("the link is still there: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me" {
		t.Fatalf("the link's target was overwritten: %q", b)
	}
	rep, err := ReadReport(link)
	if err != nil || rep.Fulfilled != 7 {
		t.Fatalf("no report at the path: %v", err)
	}
}
