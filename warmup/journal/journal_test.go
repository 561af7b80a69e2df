package journal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func reject(loader int, gen, seq int64, retry bool) Record {
	return Record{Kind: KindReject, Loader: loader, Gen: gen, Seq: seq, Retry: retry, Rejection: json.RawMessage(`{"key":"k"}`)}
}

// TestReplay checks what a resumed run gets back from a journal: the
// standing rejections below each loader's last mark, a retry cut short
// counting its items as still rejected, and a record cut short by a kill
// ignored.
func TestReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, err := Create(path, Header{Config: "c.toml", Loaders: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	recs := []Record{
		{Kind: KindGen, Loader: 0, Gen: 1},
		{Kind: KindGen, Loader: 1, Gen: 2},
		reject(0, 1, 1, false),
		reject(0, 1, 2, false),
		reject(1, 2, 3, false),
		{Kind: KindMark, Loader: 0, Mark: &Mark{Seq: 10}},
		{Kind: KindMark, Loader: 1, Mark: &Mark{Seq: 3}},
		// Loader a retries both: one is rejected again, the other not
		// yet settled when the process dies; a first-pass rejection
		// lands in the retry's generation meanwhile.
		{Kind: KindGen, Loader: 0, Gen: 3, From: 1},
		reject(0, 3, 1, true),
		reject(0, 3, 7, false),
		reject(0, 3, 12, false), // above the mark: read again
		{Kind: KindMark, Loader: 0, Mark: &Mark{Seq: 11}},
	}
	for _, r := range recs {
		if err := j.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// What a kill -9 in the middle of a write leaves.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"t":"reject","l":1,"g":2,"s":1,"r":{"ke`)
	f.Close()

	rp, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Ended || rp.Loaders[0].Mark.Seq != 11 || rp.Gens != 3 {
		t.Fatalf("replay: ended %v, mark %+v, gens %d", rp.Ended, rp.Loaders[0].Mark, rp.Gens)
	}
	for i, want := range [][]int64{{1, 2, 7}, {}} {
		var got []int64
		var err error
		for _, seq := range rp.Rejections(i, &err) {
			got = append(got, seq)
		}
		if err != nil || len(got) != len(want) {
			t.Fatalf("loader %d: rejections %v (err %v), want %v", i, got, err, want)
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("loader %d: rejections %v, want %v", i, got, want)
			}
		}
	}

	// Once the retry settled, its generation stands alone.
	j2, _ := Create(path, Header{Config: "c.toml", Loaders: []string{"a"}})
	for _, r := range append(recs[:1:1], reject(0, 1, 1, false), reject(0, 1, 2, false),
		Record{Kind: KindGen, Loader: 0, Gen: 3, From: 1}, reject(0, 3, 1, true), Record{Kind: KindRetried, Loader: 0, Gen: 3},
		Record{Kind: KindMark, Loader: 0, Mark: &Mark{Seq: 10}}) {
		j2.Append(r)
	}
	j2.End()
	rp, err = Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, seq := range rp.Rejections(0, &err) {
		got = append(got, seq)
	}
	if !rp.Ended || len(got) != 1 || got[0] != 1 {
		t.Fatalf("settled retry: ended %v, rejections %v", rp.Ended, got)
	}
}

// A full disk loses no record: what the file could not take stays in
// memory, Scan reads it there, and Err says why.
func TestFullDiskKeepsRecords(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here:", err)
	}
	j := &Journal{path: "/dev/full", f: f}
	defer j.Close()
	const n = 20000 // well past flushAt, so writes are tried and fail
	for i := range n {
		if err := j.Append(reject(0, 1, int64(i+1), false)); err != nil {
			t.Fatal(err)
		}
	}
	if j.Err() == nil {
		t.Fatal("no error from writing to a full disk")
	}
	var seen int64
	if err := j.Scan(0, j.Offset(), func(r Record) bool {
		seen++
		if r.Seq != seen {
			t.Fatalf("record %d has seq %d", seen, r.Seq)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if seen != n {
		t.Fatalf("scanned %d records of %d", seen, n)
	}
}
